"""Build the three-level repair network from the organization (demo and first installation)."""

from __future__ import annotations

from django.db import transaction

from gridcare.customers.models import Feeder
from gridcare.org.models import Role, RoleAssignment, Unit, User

from .models import Crew


@transaction.atomic
def setup_crews() -> int:
    """For each station with a repair team unit (抢修班): a station repair team (its crew members),
    an electrician group (the team's last member, serving the station's rural feeders) and the
    station's joint-defense organization (the station staff, for reinforcement)."""
    created = 0
    teams = Unit.objects.filter(
        kind=Unit.Kind.TEAM, function=Unit.Function.REPAIR, is_active=True
    ).select_related("parent")
    for team in teams.order_by("code"):
        station = team.parent
        while station is not None and station.kind != Unit.Kind.STATION:
            station = station.parent
        if station is None:
            continue
        members = list(
            User.objects.filter(
                pk__in=RoleAssignment.objects.filter(unit=team, role=Role.CREW).values("user_id")
            ).order_by("username")
        )
        feeders = list(Feeder.objects.filter(unit=station).order_by("code"))
        # The joint-defense organization is the station's own staff (所长, 客户经理 …), called out
        # for reinforcement; with nobody at the station it stays empty and is never dispatched.
        staff = list(
            User.objects.filter(pk__in=RoleAssignment.objects.filter(unit=station).values("user_id"))
            .exclude(pk__in=[m.pk for m in members])
            .order_by("username")
        )
        plan = [
            (f"{team.code}C1", f"{team.name}一组", Crew.Tier.REPAIR_TEAM, members[:-1] or members, feeders),
            (
                f"{team.code}C2",
                f"{station.name}电工组",
                Crew.Tier.ELECTRICIAN_GROUP,
                members[-1:],
                feeders[len(feeders) // 2 :],
            ),
            (f"{team.code}C9", f"{station.name}联防组织", Crew.Tier.JOINT_DEFENSE, staff, []),
        ]
        for n, (code, name, tier, people, served) in enumerate(plan, start=1):
            if Crew.objects.filter(code=code).exists():
                continue
            crew = Crew.objects.create(
                code=code,
                name=name,
                tier=tier,
                station=station,
                team_unit=team,
                leader=people[0] if people else None,
                vehicle=f"抢修车{team.code[-6:]}-{n}" if tier != Crew.Tier.JOINT_DEFENSE else "",
                phone=station.phone,
                service_area=f"{station.name}辖区",
            )
            crew.members.set(people)
            crew.service_feeders.set(served)
            created += 1
    return created
