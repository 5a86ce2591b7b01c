"""Knowledge search benchmark: answer quality on labeled caller questions, and latency at scale.

    python -m bench.kb_search              # 20,000 articles, 3 runs, PostgreSQL (DATABASE_URL) and SQLite
    python -m bench.kb_search --smoke      # 400 articles, 1 run: a few seconds per backend

For each backend (a child process each) it migrates the database, loads the seed articles
(``seed_knowledge``), measures recall on the real articles alone, tops the base up with generated
filler articles to ``--articles``, and then, for every labeled question, times

- GridCare: ``knowledge.queries.search_articles`` as an agent at the city center calls it
  (segmentation, synonyms, scoped index query, bigram fallback, re-ranking, loading the articles);
- the control: the same index query issued as raw SQL (same MATCH / tsquery, same filters,
  tokens computed beforehand) — the floor no search path can beat.

It prints recall@1 / recall@3 (targets ≥ 0.75 / ≥ 0.92), each run's p50 / p95 for both, the
medians and the ratio. PostgreSQL uses DATABASE_URL (a database of its own: it is migrated and
written to); SQLite uses a file under var/ (kept between full runs to save the filler load) or a
temporary one with --smoke.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
QUESTIONS = HERE / "questions.txt"
RECALL1_TARGET, RECALL3_TARGET, P95_TARGET_MS = 0.75, 0.92, 50.0


def load_questions() -> list[tuple[set[str], str]]:
    items = []
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        labels, question = (part.strip() for part in line.split("|", 1))
        items.append((set(labels.split("/")), question))
    return items


# ---------------------------------------------------------------- child (one backend)


def _ensure_world():
    from gridcare.org.models import Role, RoleAssignment, Unit, User
    from gridcare.org.services import create_staff, create_unit

    def unit(code, name, kind, parent):
        found = Unit.objects.filter(code=code).first()
        return found or create_unit(name=name, code=code, kind=kind, parent=parent)

    province = unit("QL", "青岚省电力有限公司", Unit.Kind.PROVINCE, None)
    city = unit("QL01", "白溪供电公司", Unit.Kind.CITY, province)
    for n, name in enumerate(["溪北县供电公司", "石门县供电公司", "云雾山县供电公司"], start=1):
        unit(f"QL01X{n}", name, Unit.Kind.COUNTY, city)
    agent = User.objects.filter(username="kbbench_agent").first()
    if agent is None:
        agent = create_staff(
            username="kbbench_agent",
            password="kbbench-unused-9",
            full_name="基准座席",
            roles=[(Role.AGENT, city)],
        )
    elif not RoleAssignment.objects.filter(user=agent, role=Role.AGENT, unit=city).exists():
        RoleAssignment.objects.create(user=agent, role=Role.AGENT, unit=city)
    return agent


def _add_filler(total: int) -> int:
    from django.db import transaction

    from gridcare.core import clock
    from gridcare.knowledge import markup
    from gridcare.knowledge.models import Article, Category, Status
    from gridcare.knowledge.search import index
    from gridcare.knowledge.seed import default_owner

    from .filler import generate

    have = Article.objects.count()
    existing_fill = Article.objects.filter(number__startswith="FILL").count()
    need = total - have
    if need <= 0:
        return 0
    categories = {c.code: c for c in Category.objects.select_related("parent")}
    owner = default_owner()
    now = clock.now()
    made = 0
    batch: list[tuple[Article, str]] = []

    def flush():
        with transaction.atomic():
            Article.objects.bulk_create([a for a, _ in batch])
            numbers = {a.number: a for a, _ in batch}
            for pk, number in Article.objects.filter(number__in=list(numbers)).values_list("id", "number"):
                a = numbers[number]
                doc = index.document_for(
                    title=a.title,
                    phrasings=a.phrasings,
                    keywords="",
                    answer_text=markup.plain_text(a.answer),
                    category=str(categories[a.category_code]),
                )
                Article.objects.filter(pk=pk).update(index_title=doc.head, index_body=doc.body)
                index.write(pk, doc)
        batch.clear()

    for number, title, phrasings, answer, category in generate(existing_fill + need):
        if made >= need:
            break
        if int(number[4:]) <= existing_fill:
            continue
        a = Article(
            number=number,
            status=Status.PUBLISHED,
            owner=owner,
            version=1,
            published_at=now,
            created_at=now,
            updated_at=now,
            title=title,
            phrasings="\n".join(phrasings),
            answer=answer,
            category=categories[category],
            effective_from=now.date().replace(year=2024, month=1, day=1),
        )
        a.category_code = category
        batch.append((a, category))
        made += 1
        if len(batch) >= 1000:
            flush()
    if batch:
        flush()
    return made


def _measure(agent, questions, *, runs: int, with_control: bool):
    from django.db import connection

    from bench import common
    from gridcare.knowledge import queries, search
    from gridcare.knowledge.search import index, text

    filters = queries.served_filters(agent)
    prepared = []
    for labels, q in questions:
        # the control asks the index exactly what GridCare asks it (same tokens, same filters)
        tokens = search.retrieval_tokens(text.unique_tokens(q))
        prepared.append((labels, q, index.build_query(tokens, filters, limit=10) if tokens else None))
    # warm up once over the set: the tokenizer, the connection, the per-process document
    # frequencies (cached 10 minutes) — the steady state of a web process
    for _, q, _sql in prepared:
        queries.search_articles(agent, q, limit=3)

    ranks: list[int | None] = []
    misses: list[tuple[str, str, str]] = []
    series = []
    for run in range(runs):
        ours, control = [], []
        for labels, q, sql in prepared:
            ms, result = common.timed_ms(lambda q=q: queries.search_articles(agent, q, limit=3))
            ours.append(ms)
            if run == 0:
                numbers = [h.article.number for h in result.hits]
                rank = next((i + 1 for i, n in enumerate(numbers) if n in labels), None)
                ranks.append(rank)
                if rank != 1:
                    misses.append((q, "/".join(sorted(labels)), numbers[0] if numbers else "—"))
            if with_control and sql is not None:

                def raw(sql=sql):
                    with connection.cursor() as cursor:
                        cursor.execute(*sql)
                        return cursor.fetchall()

                control.append(common.timed_ms(raw)[0])
        series.append((common.Latency(ours), common.Latency(control)))
    n = len(ranks)
    r1 = sum(1 for r in ranks if r == 1) / n
    r3 = sum(1 for r in ranks if r is not None and r <= 3) / n
    return r1, r3, series, misses


def child(args) -> None:
    sys.path.insert(0, str(ROOT))
    from bench import common

    common.setup_django(require_postgresql=False)
    from django.core.management import call_command
    from django.db import connection

    from gridcare.knowledge.models import Article
    from gridcare.knowledge.seed import seed_knowledge

    vendor = connection.vendor
    print(f"\n==== backend: {vendor} ====", flush=True)
    before = common.conditions()
    with common.stopwatch("migrate"):
        call_command("migrate", interactive=False, verbosity=0)
    agent = _ensure_world()
    with common.stopwatch("seed_knowledge"):
        report = seed_knowledge()
    real = Article.objects.exclude(number__startswith="FILL").filter(status="published").count()
    print(f"real articles: {real} ({report.created_or_changed} loaded now)")
    questions = load_questions()
    print(f"labeled questions: {len(questions)}")
    if not Article.objects.filter(number__startswith="FILL").exists():
        r1, r3, _, _ = _measure(agent, questions, runs=1, with_control=False)
        print(f"recall on the {real} real articles alone: recall@1 {r1:.3f}  recall@3 {r3:.3f}")
    with common.stopwatch(f"filler up to {args.articles} articles"):
        added = _add_filler(args.articles)
    total = Article.objects.filter(status="published").count()
    print(f"served articles now: {total} ({added} filler added)")
    if vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO knowledge_article_fts(knowledge_article_fts) VALUES ('optimize')")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE knowledge_article")

    r1, r3, series, misses = _measure(agent, questions, runs=args.runs, with_control=True)
    print(f"\n-- {vendor}, {total} articles, {len(questions)} questions --")
    print(
        f"recall@1 {r1:.3f} (target ≥ {RECALL1_TARGET})  {common.verdict(r1 >= RECALL1_TARGET)}   "
        f"recall@3 {r3:.3f} (target ≥ {RECALL3_TARGET})  {common.verdict(r3 >= RECALL3_TARGET)}"
    )
    for i, (ours, control) in enumerate(series, start=1):
        print(f"run {i}: GridCare {ours}   control (raw SQL) {control}")
    p95s = [s[0].p95 for s in series]
    c95s = [s[1].p95 for s in series]
    p50s = [s[0].p50 for s in series]
    c50s = [s[1].p50 for s in series]
    med95, medc95 = common.median(p95s), common.median(c95s)
    print(
        f"median over {len(series)} runs: GridCare p50 {common.median(p50s):.2f} ms p95 {med95:.2f} ms   "
        f"control p50 {common.median(c50s):.2f} ms p95 {medc95:.2f} ms   ratio p95 {med95 / medc95:.1f}×"
    )
    print(f"p95 target < {P95_TARGET_MS} ms: {common.verdict(med95 < P95_TARGET_MS)}")
    if misses:
        print(f"top-1 misses ({len(misses)}; question → expected, got):")
        for q, expected, got in misses[: args.show_misses]:
            print(f"  {q} → {expected}, got {got}")
    common.print_conditions(before, common.conditions(), runs=args.runs, articles=total)


# ---------------------------------------------------------------- parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kb_search", description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=20000, help="articles in the base (real + filler)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="400 articles, 1 run")
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument(
        "--sqlite-file", default="", help="SQLite database file (default: var/ or a temp file)"
    )
    parser.add_argument("--show-misses", type=int, default=25)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.articles, args.runs = min(args.articles, 400), 1
    if args.child:
        child(args)
        return 0
    started = time.perf_counter()
    forwarded = [
        "--articles",
        str(args.articles),
        "--runs",
        str(args.runs),
        "--show-misses",
        str(args.show_misses),
        "--child",
    ]
    status = 0
    tmp = tempfile.TemporaryDirectory(prefix="kb_search_")
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        env = os.environ.copy()
        if backend == "postgresql":
            if not env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
                print("postgresql: skipped (set DATABASE_URL to a PostgreSQL database of its own)")
                continue
        elif backend == "sqlite":
            path = args.sqlite_file or (
                str(Path(tmp.name) / "kb.sqlite3")
                if args.smoke
                else str(ROOT / "var" / f"bench_kb_search_{args.articles}.sqlite3")
            )
            env["DATABASE_URL"] = f"sqlite:///{path}"
        else:
            parser.error(f"unknown backend {backend}")
        code = subprocess.call([sys.executable, "-m", "bench.kb_search", *forwarded], env=env, cwd=ROOT)
        status = status or code
    tmp.cleanup()
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
