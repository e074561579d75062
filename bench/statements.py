"""Benchmark: rendering statement PDFs (WeasyPrint, Khmer word breaks, ActualText).

    python -m bench statements

Uses its own SQLite file (var/bench-statements.sqlite3, recreated each run):
the three demo statements from the seeds, a typical two-page bilingual
statement and a 20-page one. Each case runs in a fresh process so its peak
memory (ru_maxrss) is its own; the first render in a process loads fonts and
the segmenter (cold), the next ones are warm. Target (issue 4): a typical
two-page bilingual statement under 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE = BASE_DIR / "var" / "bench-statements.sqlite3"
TARGET_SECONDS = 1.0
CASES = ["demo", "two-page", "twenty-page"]

KHMER_PARAGRAPH = (
    "ក្នុងខណៈពេលដែលថ្ងៃចុះឈ្មោះបោះឆ្នោតកាន់តែខិតជិតមកដល់ "
    "គណៈកម្មការដើម្បីសិទ្ធិបោះឆ្នោតពលរដ្ឋខ្មែរនៅក្រៅប្រទេសបានចេញសេចក្តីថ្លែងការណ៌នេះជាសាធារណៈ "
    "ដោយមានគោលបំណងដូចតទៅ៖ ដើម្បីលើកទឹកចិត្តដល់ប្រជាពលរដ្ឋខ្មែរដែលកំពុងរស់នៅក្រៅប្រទេសទាំងអស់"
    "នាំគ្នាទៅចុះឈ្មោះអោយបានច្រើនបំផុតទាំងអស់គ្នា។ "
    "គណៈកម្មការនៅតែទាមទារអោយគជបជួយសំរួលនិងបង្កភាពងាយស្រួលដល់ប្រជាពលរដ្ឋខ្មែរនៅក្រៅប្រទេសអោយបានបោះឆ្នោតទាំងអស់គ្នា។"
)
ENGLISH_PARAGRAPH = (
    "To collect petition as much as we can to demand our unalienable rights as Cambodian "
    "citizens to vote in the national elections of Cambodia, we have officially launched a "
    "petition campaign to demand the rights to vote in the Cambodia national elections for "
    "Cambodians Overseas. We collaborate with all stakeholders to ensure that no Cambodian "
    "citizen has been marginalized from fully exercising their rights."
)


def _setup_django() -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{DATABASE}"
    os.environ.pop("REDIS_URL", None)  # eager Celery: nothing queued elsewhere
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def _prepare() -> None:
    """A fresh database with the demo statements and the two synthetic ones."""
    DATABASE.parent.mkdir(exist_ok=True)
    DATABASE.unlink(missing_ok=True)
    _setup_django()
    from django.core.management import call_command

    from statements.demo import SIGNATORY, load_statements
    from statements.models import Signatory, Statement

    call_command("migrate", verbosity=0)
    load_statements()
    for slug, paragraphs in (("bench-two-page", 4), ("bench-twenty-page", 74)):
        statement, _created = Statement.objects.update_or_create(
            slug=slug,
            defaults={
                "title_km": "សេចក្តីថ្លែងការណ៍ជាសាធារណៈ",
                "title_en": "Public statement",
                "body_km": "\n\n".join([KHMER_PARAGRAPH] * paragraphs),
                "body_en": "\n\n".join([ENGLISH_PARAGRAPH] * paragraphs),
            },
        )
        Signatory.objects.update_or_create(statement=statement, position=0, defaults=SIGNATORY)


def _measure(case: str, repeats: int) -> dict[str, Any]:
    _setup_django()
    from pypdf import PdfReader

    from statements.models import Statement
    from statements.pdf import render_pdf

    if case == "demo":
        statements = list(Statement.objects.exclude(slug__startswith="bench-"))
    else:
        statements = [Statement.objects.get(slug=f"bench-{case}")]
    timings = []
    pages = []
    for _round in range(repeats):
        started = time.perf_counter()
        outputs = [render_pdf(statement) for statement in statements]
        timings.append(time.perf_counter() - started)
    import io

    pages = [len(PdfReader(io.BytesIO(output)).pages) for output in outputs]
    return {
        "case": case,
        "statements": len(statements),
        "pages": pages,
        "cold_s": round(timings[0], 3),
        "warm_s": round(min(timings[1:]), 3) if len(timings) > 1 else None,
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench statements", description=__doc__)
    parser.add_argument("--case", choices=CASES, help="(internal) measure one case")
    parser.add_argument("--repeats", type=int, default=3)
    args, _others = parser.parse_known_args(argv)  # options meant for other benchmarks
    if args.case:
        print(json.dumps(_measure(args.case, args.repeats)))
        return 0
    _prepare()
    results = []
    for case in CASES:
        output = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.statements",
                "--case",
                case,
                "--repeats",
                str(args.repeats),
            ],
            cwd=BASE_DIR,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    for result in results:
        print(
            f"{result['case']:>12}: {result['statements']} statement(s), pages {result['pages']}, "
            f"cold {result['cold_s']} s, warm {result['warm_s']} s, peak {result['peak_mb']} MB"
        )
    two_page = next(result for result in results if result["case"] == "two-page")
    met = (two_page["warm_s"] or two_page["cold_s"]) < TARGET_SECONDS
    print(
        f"target: two-page bilingual statement under {TARGET_SECONDS} s (warm): {'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
