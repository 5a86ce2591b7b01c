"""Building applications in tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gridcare.applications import services
from gridcare.core import clock


def intake(**overrides) -> services.Intake:
    values = {
        "app_type": "new",
        "applicant_name": "陈光明",
        "id_type": "resident_id",
        "id_number": "520102198503031234",
        "address": "城关镇东风路20号",
        "contact_name": "陈光明",
        "contact_phone": "13700001111",
        "usage_class": "residential",
        "requested_kva": Decimal("8"),
    }
    values.update(overrides)
    return services.Intake(**values)


def at(*args: int) -> dt.datetime:
    """A local (Asia/Shanghai) time."""
    return dt.datetime(*args, tzinfo=clock.LOCAL_TZ)


def accept(actor, **overrides):
    application, created = services.accept_application(actor=actor, intake=intake(**overrides))
    assert created
    return application


def record_for(application, node: str, actor) -> None:
    """What finishing ``node`` needs recorded (a survey, a chosen plan, a passed inspection, the
    meters), through the verbs, as the people of the node would; nothing for the other nodes or
    when it is there already."""
    from gridcare.applications import survey
    from gridcare.applications.models import Energization, PlanOption, Survey

    application.refresh_from_db()
    if node == "survey" and not Survey.objects.filter(application=application).exists():
        survey.record_survey(
            application=application,
            actor=actor,
            survey=survey.SurveyIn(
                possible=True,
                voltage=application.voltage,
                supply=application.supply,
                approved_kva=application.requested_kva,
            ),
        )
    elif (
        node == "plan_reply" and not PlanOption.objects.filter(application=application, chosen=True).exists()
    ):
        option = survey.add_option(
            application=application,
            actor=actor,
            option=survey.OptionIn(
                label="方案一",
                source="城关110kV变电站 10kV东风线",
                voltage=application.voltage,
                property_boundary="客户配电室进线开关上桩头",
                metering="hv_hv" if application.voltage != "lv" else "lv_lv",
                cost_yuan="120000",
                construction_days=30,
            ),
        )
        survey.choose_option(
            application=application,
            actor=actor,
            option_id=option.pk,
            signed_by=application.contact_name,
            signed_via="on_site",
        )
    elif node in survey.INSPECTED_NODES and not survey.passed(application, node):
        survey.record_inspection(
            application=application, actor=actor, inspection=survey.InspectionIn(node=node, passed=True)
        )
    elif node == "energize" and not Energization.objects.filter(application=application).exists():
        survey.record_energization(
            application=application,
            actor=actor,
            energization=survey.EnergizationIn(
                meters=[
                    {
                        "asset_no": "3330001000001",
                        "kind": "智能电能表",
                        "registers": [{"name": "正向有功总", "reading": "0"}],
                    }
                ],
                crew="城东装接班",
                ct_ratio="" if application.voltage == "lv" else "100/5",
                pt_ratio="" if application.voltage == "lv" else "10000/100",
            ),
        )
