"""Passkeys in a real browser at phone size: enrol from the CLI's link, sign out, sign in."""

import pytest

from tests.e2e.conftest import add_virtual_authenticator, no_horizontal_overflow, shot

pytestmark = pytest.mark.e2e

# Chromium's virtual authenticator (enableUI false) answers a conditional (autofill) request at
# once, as if the person had picked the passkey from the autofill list. To tap the button as a
# person would, this stand-in keeps conditional requests pending until aborted, like a real
# browser does while nobody touches the field; modal requests go to the real authenticator.
HOLD_AUTOFILL = """
(() => {
  const creds = navigator.credentials;
  const realGet = creds.get.bind(creds);
  window.__kehuConditional = 0;
  creds.get = (options) => {
    if (!options || options.mediation !== "conditional") return realGet(options);
    window.__kehuConditional += 1;
    return new Promise((resolve, reject) => {
      if (options.signal) options.signal.addEventListener("abort", () =>
        reject(new DOMException("aborted", "AbortError")));
    });
  };
})();
"""


def test_enrol_sign_out_and_sign_in_with_a_passkey_on_a_phone(server, phone):
    url = server.kehu("user", "add", "王芳", "--role", "admin").strip().splitlines()[-1]
    assert url.startswith(server.origin + "/enroll/")
    page = phone.new_page()
    page.add_init_script(HOLD_AUTOFILL)
    add_virtual_authenticator(page)

    # Enrolment: who the link is for, one big button, then signed in.
    page.goto(url)
    assert page.get_by_role("heading", name="为王芳创建通行密钥").is_visible()
    create = page.get_by_role("button", name="创建通行密钥")
    assert create.bounding_box()["height"] >= 44
    assert no_horizontal_overflow(page)
    shot(page, "phone-enroll")
    create.tap()
    page.wait_for_url(server.origin + "/")
    assert page.get_by_role("link", name="今日").is_visible()
    assert page.get_by_text("通行密钥已创建").is_visible()

    # Settings lists the passkey; adding a second one on the same device is explained.
    page.goto(server.origin + "/settings")
    assert page.get_by_role("heading", name="通行密钥").is_visible()
    assert page.get_by_role("button", name="撤销").count() == 1
    page.get_by_role("button", name="添加通行密钥").tap()
    alert = page.locator("#passkey-error")
    alert.filter(has_text="此设备上已有您的通行密钥").wait_for()
    assert no_horizontal_overflow(page)
    shot(page, "phone-settings-passkeys")

    # Sign out, then a protected page sends us to sign in and back again.
    page.get_by_role("button", name="退出登录").tap()
    page.wait_for_url("**/login")
    page.goto(server.origin + "/settings")
    assert "/login?next=/settings" in page.url
    signin = page.get_by_role("button", name="使用通行密钥登录")
    assert signin.bounding_box()["height"] >= 44
    assert page.locator("input[type=password]").count() == 0
    # Autofill is offered: the username field asks for passkeys and a conditional request runs.
    autofill = page.locator("input[autocomplete='username webauthn']")
    autofill.wait_for(state="visible")
    page.wait_for_function("() => window.__kehuConditional >= 1")
    assert no_horizontal_overflow(page)
    shot(page, "phone-login-passkey")
    signin.tap()
    page.wait_for_url(server.origin + "/settings")
    assert page.get_by_role("heading", name="设置").is_visible()

    # The enrolment link worked once.
    page.goto(url)
    assert page.get_by_text("此链接已被使用。请向管理员索取新链接。").is_visible()
    assert page.get_by_role("button", name="创建通行密钥").count() == 0
    shot(page, "phone-enroll-used")


def test_admin_creates_a_user_and_sees_the_link_with_a_qr_code(server, phone):
    url = server.kehu("user", "add", "李伟", "--role", "admin").strip().splitlines()[-1]
    page = phone.new_page()
    add_virtual_authenticator(page)
    page.goto(url)
    page.get_by_role("button", name="创建通行密钥").tap()
    page.wait_for_url(server.origin + "/")
    page.goto(server.origin + "/settings")
    page.get_by_role("link", name="用户").tap()
    page.wait_for_url("**/admin/users")
    page.get_by_label("姓名").fill("陈静")
    page.get_by_label("角色").select_option("rep")
    page.get_by_label("或新建团队").fill("华东销售一组")
    page.get_by_role("button", name="创建用户").tap()
    page.wait_for_url("**/link")
    link = page.locator("#enrol-url").input_value()
    assert link.startswith(server.origin + "/enroll/")
    assert page.get_by_role("img", name="注册链接的二维码").is_visible()
    assert no_horizontal_overflow(page)
    shot(page, "phone-admin-link")
    page.goto(server.origin + "/admin/users")
    assert no_horizontal_overflow(page)
    page.locator("#users-heading").scroll_into_view_if_needed()
    page.evaluate("() => document.getElementById('users-heading').scrollIntoView()")
    shot(page, "phone-admin-users")


def test_passkey_autofill_signs_in_where_the_browser_offers_it(server, phone):
    url = server.kehu("user", "add", "周敏", "--role", "clerk", "--team", "徐汇门店", "--store")
    page = phone.new_page()
    add_virtual_authenticator(page)
    page.goto(url.strip().splitlines()[-1])
    page.get_by_role("button", name="创建通行密钥").tap()
    page.wait_for_url(server.origin + "/counter")
    page.get_by_role("button", name="退出登录").tap()
    page.wait_for_url("**/login")
    # The virtual authenticator picks the passkey from autofill by itself: no button tapped.
    page.wait_for_url(server.origin + "/counter")
    assert page.get_by_role("link", name="门店柜台").is_visible()
