"""The list of route handlers: each feature adds its controller here."""


def route_handlers() -> list:
    """Return every controller and route handler of the app."""
    from web.account.language import language_set
    from web.account.settings import SettingsController
    from web.admin.custom_fields import CustomFieldController
    from web.admin.outcomes import OutcomeAdminController
    from web.admin.rfm import RfmAdminController
    from web.admin.users import AdminUsersController
    from web.auth.enrol import EnrolController
    from web.auth.signin import AuthController
    from web.counter.controller import CounterController
    from web.customers.router import customers_router
    from web.imports.controller import ImportController, ImportRunController
    from web.imports.export import ExportController
    from web.imports.settings import TransferSettingsController
    from web.pool.controller import PoolController, PoolWarningController
    from web.pool.handover import HandoverController, ReassignController
    from web.pool.settings import PoolSettingsController
    from web.privacy.audit import AuditLogController
    from web.privacy.requests import PrivacyRequestController
    from web.reports.controller import TeamController, WeeklyReportController
    from web.sales.approvals import ApprovalController, DecisionController
    from web.sales.pipeline import PipelineController
    from web.sales.settings import SalesSettingsController
    from web.sales.stages import SalesController
    from web.system.health import health
    from web.system.notfound import not_found
    from web.today.controller import HomeController
    from web.visits.clock import VisitClockController
    from web.visits.controller import VisitController
    from web.visits.offline import OfflineController, SyncController

    return [
        AuthController,
        EnrolController,
        SettingsController,
        AdminUsersController,
        health,
        language_set,
        HomeController,
        customers_router,
        CustomFieldController,
        VisitController,
        SyncController,
        OfflineController,
        VisitClockController,
        OutcomeAdminController,
        TeamController,
        CounterController,
        RfmAdminController,
        WeeklyReportController,
        SalesController,
        ApprovalController,
        DecisionController,
        PipelineController,
        SalesSettingsController,
        AuditLogController,
        PrivacyRequestController,
        ExportController,
        ImportController,
        ImportRunController,
        TransferSettingsController,
        PoolController,
        PoolWarningController,
        HandoverController,
        ReassignController,
        PoolSettingsController,
        not_found,
    ]
