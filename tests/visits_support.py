"""The visits tests' older helpers, now tests.factories (kept for files that import them)."""

from tests import factories

make_customer = factories.customer
actor_of = factories.actor
new_key = factories.new_key
utc = factories.utc
