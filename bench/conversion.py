"""DOCX → PDF: N conversions of the same document in one process, each timed.

The document is the shipped 问责决定书 template filled with the sample case (what a
template's preview converts). Prints each conversion's wall time, the first, the median of
the rest and the total. `--once` times the one-shot path (`soffice --convert-to` per
document, what runs without python3-uno) instead of the LibreOffice kept over UNO.

    .venv/bin/python bench/conversion.py [--n 10] [--once]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from workflows.official import context, conversion, kinds, templates

TEMPLATE = Path(templates.__file__).with_name("templates") / "accountability_decision.docx"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--once", action="store_true", help="one LibreOffice per conversion")
    arguments = parser.parse_args()
    n = arguments.n
    convert = conversion.to_pdf_once if arguments.once else conversion.to_pdf
    docx = templates.render(
        TEMPLATE.read_bytes(), context.sample(kinds.KINDS[kinds.ACCOUNTABILITY])
    )
    took = []
    for _ in range(n):
        start = time.perf_counter()
        pdf = convert(docx)
        took.append(time.perf_counter() - start)
        assert pdf.startswith(b"%PDF"), pdf[:20]
    print("each:", " ".join(f"{s:.2f}" for s in took))
    rest = statistics.median(took[1:]) if n > 1 else float("nan")
    print(f"first {took[0]:.2f} s, median of the rest {rest:.2f} s, total {sum(took):.2f} s")


if __name__ == "__main__":
    main()
