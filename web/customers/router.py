"""Everything under /customers, one controller per resource.

Litestar refuses two controllers registered on the app with the same path (each brings
its own OPTIONS handler), so the controllers sit in one Router that owns the prefix.
"""

from litestar import Router

from web.customers.contacts import ContactController
from web.customers.form import CustomerFormController
from web.customers.list_search import CustomerListController

customers_router = Router(
    path="/customers",
    route_handlers=[CustomerListController, CustomerFormController, ContactController],
)
