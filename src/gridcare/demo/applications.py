"""The demo county's 业扩报装: applications at every node of every path (LV residential, LV
non-residential, 10 kV single and dual supply, change of use), some overdue, some waiting for the
customer, some archived, one cancelled — all made through ``applications.services`` at past
times (``clock.frozen``), so their nodes, clocks, waits, history and SMS are what production makes.

Everything is at 城关供电所 (``clerk01``'s window) and 溪北县 (``manager01`` the account
manager, ``metering01`` the metering staff); the change-of-use and some LV applications belong
to the station's first customers (by account number), so their 95598 card shows them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from gridcare.applications import callback_work, callbacks, paths, services, survey
from gridcare.applications.models import (
    RECORDED_STARTS,
    Application,
    ApplicationCallback,
    ApplicationNode,
    NodeState,
)
from gridcare.applications.sweep import raise_due_warnings
from gridcare.core import clock
from gridcare.customers.models import Customer
from gridcare.org.models import RoleAssignment, User

# path key → (app type, usage class, kVA, supply, linked to a customer)
PATHS = {
    "lv_residential": ("new", "residential", "8", "single", False),
    "lv_business": ("new", "non_residential", "60", "single", False),
    "hv_single": ("new", "non_residential", "400", "single", False),
    "hv_dual": ("new", "large_industry", "3150", "dual", False),
    "change": ("decrease", "non_residential", "30", "single", True),
}
NAMES = {
    "lv_residential": ["陈光明", "刘秀英", "王建华", "李桂兰", "张志强", "杨丽娟"],
    "lv_business": [
        "城关镇老王面馆",
        "白溪便民超市",
        "溪北县阳光幼儿园",
        "建设路汽修店",
        "红星村农家乐",
        "东风路药房",
    ],
    "hv_single": [
        "白溪食品有限公司",
        "溪北县第二中学",
        "城关物流园",
        "溪北县人民医院门诊楼",
        "青岚冷链仓储",
        "白溪纺织厂",
        "溪北县水厂二期",
        "城东商业广场",
    ],
    "hv_dual": [
        "溪北县数据中心",
        "白溪化工有限公司",
        "溪北县中医院",
        "青岚精密制造",
        "城关污水处理厂",
        "溪北县体育中心",
        "白溪半导体封测",
        "溪北县政务中心",
    ],
    "change": ["城关镇老李茶馆", "建设路五金店", "东风路服装店", "城东小吃店", "白溪印刷厂"],
}
# One application per node a path has (the current node), plus the special cases below.
# (path key, variant): "late" — its current node's clock is past due; "wait" — stopped for the
# customer; "waited" — a wait that ended; "archived"; "cancelled"; "green" — 绿色通道.
EXTRA = [
    ("lv_residential", "archived"),
    ("lv_business", "archived"),
    ("hv_single", "archived"),
    ("hv_dual", "archived"),
    ("change", "archived"),
    ("lv_residential", "late"),
    ("lv_business", "late"),
    ("hv_single", "late"),
    ("hv_dual", "late"),
    ("hv_single", "wait"),
    ("lv_business", "wait"),
    ("hv_dual", "waited"),
    ("lv_residential", "cancelled"),
    ("hv_single", "green"),
]


@dataclass
class ApplicationsReport:
    applications: int = 0
    archived: int = 0
    overdue: int = 0
    waiting: int = 0
    warnings: int = 0
    callbacks: int = 0


def _user(username: str) -> User | None:
    return User.objects.filter(username=username).first()


class _Walker:
    def __init__(self, clerk: User, manager: User, metering: User, frozen: clock.FrozenClock) -> None:
        self.clerk, self.manager, self.metering, self.frozen = clerk, manager, metering, frozen
        self.recorded: list[str] = []

    def _finisher(self, node: ApplicationNode) -> User:
        return {"business_clerk": self.clerk, "account_manager": self.manager, "metering": self.metering}.get(
            node.owner_role, self.manager
        )

    def step(self, application: Application, node: ApplicationNode, gap_hours: float) -> Application:
        """Start the node's clock when the customer's request starts it, then finish it."""
        window = self.clerk if application.category != "hv" else self.manager
        if node.definition.clock_starts in RECORDED_STARTS:
            self.frozen.advance(hours=gap_hours)
            application = services.act_on_node(
                application=application, node=node.kind, action="start", actor=window, note="客户已提交申请"
            )
        self.frozen.advance(hours=gap_hours)
        _record(application, node.kind, self._finisher(node), len(self.recorded))
        self.recorded.append(node.kind)
        return services.act_on_node(
            application=application,
            node=node.kind,
            action="finish",
            actor=self._finisher(node),
            note="已办理",
        )


SOURCES = ("溪北110kV变电站 10kV城北线", "城关110kV变电站 10kV东风线", "溪北35kV变电站 10kV工业园线")


def _record(application: Application, node: str, actor: User, n: int) -> None:
    """What finishing ``node`` needs, as its people record it (survey.py): the survey's findings,
    two supply plans and the customer's signed choice, a passed inspection (every third
    mid-construction inspection fails first and is rectified), the meters fitted."""
    application.refresh_from_db()
    hv = application.voltage != "lv"
    if node == "survey":
        survey.record_survey(
            application=application,
            actor=actor,
            survey=survey.SurveyIn(
                possible=True,
                voltage=application.voltage,
                supply=application.supply,
                approved_kva=application.requested_kva,
                grid_works=hv and n % 2 == 0,
                grid_works_note="新建10kV电缆线路约0.6公里" if hv and n % 2 == 0 else "",
                notes="现场具备接入条件",
            ),
        )
    elif node == "plan_reply":
        options = []
        for k, (label, boundary, cost, days) in enumerate(
            (
                ("方案一：架空T接", "T接点跌落式熔断器下桩头", 120000 + 1000 * n, 30),
                ("方案二：电缆专线", "客户配电室进线柜电缆头", 380000 + 1000 * n, 45),
            )
            if hv
            else (("方案一：低压接户", "计量表箱出线端", 800, 3),)
        ):
            options.append(
                survey.add_option(
                    application=application,
                    actor=actor,
                    option=survey.OptionIn(
                        label=label,
                        source=SOURCES[(n + k) % len(SOURCES)] if hv else "台区低压干线",
                        voltage=application.voltage,
                        property_boundary=boundary,
                        metering=("hv_hv" if k else "hv_lv") if hv else "lv_lv",
                        cost_yuan=Decimal(cost),
                        construction_days=days,
                    ),
                )
            )
        survey.choose_option(
            application=application,
            actor=actor,
            option_id=options[n % len(options)].pk,
            signed_by=application.contact_name,
            signed_via="online" if n % 2 else "on_site",
        )
    elif node in survey.INSPECTED_NODES:
        if node == "mid_inspection" and n % 3 == 0:
            survey.record_inspection(
                application=application,
                actor=actor,
                inspection=survey.InspectionIn(
                    node, False, defects=["电缆沟深度不足", "接地极数量不足"], rectify_days=7
                ),
            )
            survey.rectified(application=application, actor=actor, node=node)
        survey.record_inspection(
            application=application, actor=actor, inspection=survey.InspectionIn(node, True)
        )
    elif node == "energize":
        registers = [
            {"name": name, "reading": "0"}
            for name in (("正向有功总", "峰", "平", "谷") if hv else ("正向有功总",))
        ]
        survey.record_energization(
            application=application,
            actor=actor,
            energization=survey.EnergizationIn(
                meters=[
                    {"asset_no": f"33300{application.pk:08d}", "kind": "智能电能表", "registers": registers}
                ],
                crew="装接班",
                ct_ratio="50/5" if hv else "",
                pt_ratio={"kv10": "10000/100", "kv35": "35000/100"}.get(application.voltage, ""),
            ),
        )


def _call_back(agent: User | None) -> int:
    """The 95598 center has called back after acceptance those accepted long enough ago: mostly
    satisfied, one reporting 吃拿卡要 (a report order and an audit case follow), one unreachable."""
    if agent is None:
        return 0
    done = 0
    due = ApplicationCallback.objects.filter(node="accept", state="due", application__state="archived")
    for i, callback in enumerate(due.select_related("application").order_by("id")[:8]):
        answers = {q.code: "yes" for q in callbacks.questions("accept")} | {
            "bribery": "yes" if i == 1 else "no"
        }
        with clock.frozen(callback.due_from + dt.timedelta(hours=1, minutes=i)):
            if i == 5:
                callback_work.record_call(
                    callback=callback, actor=agent, outcome="no_answer", note="无人接听"
                )
                continue
            callback_work.record_call(
                callback=callback,
                actor=agent,
                outcome="answered",
                answers=answers,
                satisfaction=("satisfied", "dissatisfied", "basically")[min(i, 2)] if i < 3 else "satisfied",
                note="客户反映受理人员暗示需另付“加急费”" if i == 1 else "",
            )
        done += 1
    return done


def _nodes(application: Application) -> list[ApplicationNode]:
    return list(
        ApplicationNode.objects.filter(application=application).select_related("definition").order_by("seq")
    )


def make_applications(*, seed: int = 95598) -> ApplicationsReport:  # noqa: C901
    report = ApplicationsReport()
    clerk, manager, metering = _user("clerk01"), _user("manager01"), _user("metering01")
    if clerk is None or manager is None or metering is None:
        return report
    station = RoleAssignment.objects.filter(user=clerk).select_related("unit").first()
    if station is None:
        return report
    customers = list(Customer.objects.filter(station=station.unit).order_by("account_no")[:12])
    now = clock.now()
    plan: list[tuple[str, str | int]] = []
    for key in PATHS:
        plan += [(key, index) for index in range(1, 9)]  # trimmed to the path's nodes below
    plan += EXTRA
    counters = dict.fromkeys(PATHS, 0)
    linked = 0
    for n, (key, target) in enumerate(plan):
        app_type, usage, kva, supply, with_customer = PATHS[key]
        late = target == "late"
        age = dt.timedelta(days=60 if late else (20 if target in ("archived", "waited") else 2.5))
        name = NAMES[key][counters[key] % len(NAMES[key])]
        counters[key] += 1
        if isinstance(target, int):
            route = paths.route(
                app_type=app_type, requested_kva=Decimal(kva), usage_class=usage, supply=supply
            )
            if target >= route.path.nodes.count():
                continue  # this path has fewer nodes
        customer = None
        if with_customer or (key == "lv_residential" and linked < 3 and isinstance(target, int)):
            customer = customers[linked % len(customers)] if customers else None
            linked += 1
        with clock.frozen(now - age) as frozen:
            intake = services.Intake(
                app_type="increase" if customer is not None and app_type == "new" else app_type,
                applicant_name=customer.name if customer is not None else name,
                id_type="resident_id" if usage == "residential" else "business_license",
                id_number=f"5201021980{n:04d}123X" if usage == "residential" else f"915201007{n:04d}ABCDE",
                address=f"白溪市溪北县城关镇建设路{100 + n}号",
                contact_name=customer.name if customer is not None else name[:3],
                contact_phone=f"1390859{n:04d}",
                usage_class=usage,
                requested_kva=Decimal(kva),
                supply=supply,
                industry="" if usage == "residential" else "批发和零售业",
                households=1,
                equipment=[
                    {
                        "name": "照明及动力",
                        "kw": kva,
                        "phase": 3 if usage != "residential" else 1,
                        "voltage": "380V",
                        "count": 1,
                    }
                ],
                documents=[
                    services.Document("application_form"),
                    services.Document("identity"),
                    services.Document("property", via_shared_data=True),
                ],
                channel=["hall", "web", "wechat", "hotline"][n % 4],
                green_channel=target == "green",
                customer=customer,
            )
            application, _created = services.accept_application(
                actor=clerk, intake=intake, idempotency_key=f"demo-application-{seed}-{n}"
            )
            if not _created:
                continue
            walker = _Walker(clerk, manager, metering, frozen)
            nodes = _nodes(application)
            if isinstance(target, int):
                stop = target
            elif target == "archived":
                stop = len(nodes)
            elif target == "late":
                stop = {"lv_residential": 2, "lv_business": 3, "hv_single": 3, "hv_dual": 2}[key]
            elif target in ("wait", "waited"):
                stop = {"lv_business": 3, "hv_single": 3, "hv_dual": 4}[key]
            else:
                stop = 1
            gap = 30.0 if target in ("archived", "waited") else (2.0 if not late else 20.0)
            for node in nodes[1:stop]:
                application = walker.step(application, node, gap)
            current = next((x for x in _nodes(application) if x.kind == application.current_node), None)
            if (
                target == "late"
                and current is not None
                and current.definition.clock_starts in RECORDED_STARTS
            ):
                frozen.advance(hours=gap)
                application = services.act_on_node(
                    application=application, node=current.kind, action="start", actor=walker.manager
                    if application.category == "hv" else clerk, note="客户已提交申请",
                )  # fmt: skip
            if target in ("wait", "waited") and current is not None:
                frozen.advance(hours=3)
                application = services.act_on_node(
                    application=application,
                    node=current.kind,
                    action="wait",
                    actor=clerk if application.category != "hv" else manager,
                    reason="documents_missing" if target == "wait" else "rectification",
                    note="缺受电工程设计单位资质证明" if target == "wait" else "客户整改配电室接地",
                )
                if target == "waited":
                    frozen.advance(days=4)
                    application = services.act_on_node(
                        application=application,
                        node=current.kind,
                        action="resume",
                        actor=manager,
                        note="整改完成",
                    )
            if target == "cancelled":
                frozen.advance(hours=5)
                application = services.act(
                    application=application, action="cancel", actor=clerk, note="客户撤回申请"
                )
        report.applications += 1
    report.callbacks = _call_back(_user("agent01"))
    report.warnings = raise_due_warnings(clock.now())
    report.archived = Application.objects.filter(state="archived").count()
    report.waiting = ApplicationNode.objects.filter(state=NodeState.WAITING).count()
    report.overdue = (
        ApplicationNode.objects.filter(
            finished_at__isnull=True, paused_at__isnull=True, due_at__lt=clock.now()
        )
        .values("application")
        .distinct()
        .count()
    )
    return report
