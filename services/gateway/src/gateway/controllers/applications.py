"""A would-be partner applies (no auth)."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from gateway.http.schemas import ApplicationCreate, ApplicationCreated
from gateway.runtime import Gateway
from gateway.service_layer import onboarding


class ApplicationsController(Controller):
    path = "/api/v1/applications"
    tags = ["onboarding"]  # noqa: RUF012

    @post("/", status_code=201, summary="Apply to become a partner")
    async def apply(
        self, data: JSONBody[ApplicationCreate], gateway: NamedDependency[Gateway]
    ) -> ApplicationCreated:
        application_id = await onboarding.submit_application(
            gateway.service,
            company_name=data.company_name,
            inn=data.inn,
            kpp=data.kpp,
            email=data.email,
            region=data.region,
            distributor_reseller_id=data.distributor_reseller_id,
        )
        return ApplicationCreated(application_id=application_id, status="pending")


ROUTES: list[type] = [ApplicationsController]
