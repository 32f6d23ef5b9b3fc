"""The list of route handlers: each feature adds its controller here."""


def route_handlers() -> list:
    """Return every controller and route handler of the app."""
    from web.account import SettingsController
    from web.admin_users import AdminUsersController
    from web.auth import AuthController
    from web.counter import CounterController, RfmAdminController
    from web.custom_fields import CustomFieldController
    from web.customers import CustomerController
    from web.enroll import EnrolController
    from web.health import health
    from web.home import HomeController
    from web.language import language_set
    from web.notfound import not_found
    from web.outcomes_admin import OutcomeAdminController
    from web.reports import TeamController, WeeklyReportController
    from web.visits import VisitController

    return [
        AuthController,
        EnrolController,
        SettingsController,
        AdminUsersController,
        health,
        language_set,
        HomeController,
        CustomerController,
        CustomFieldController,
        VisitController,
        OutcomeAdminController,
        TeamController,
        CounterController,
        RfmAdminController,
        WeeklyReportController,
        not_found,
    ]
