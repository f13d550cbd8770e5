"""Builds the shipped default templates (`templates/<kind>.docx`) with python-docx, laid out as
GB/T 9704 describes: A4, margins 37/35/28/26 mm, body 仿宋 三号 (16 pt) on a fixed 28 pt line,
title 小标宋 二号 (22 pt; 黑体 where 小标宋 is not installed: see fonts.conf), 文号 under the
title, the issuing organ and the date in Chinese form at the end, and the 抄送 line between
rules at the foot (版记).

The .docx files are committed; run `python -m workflows.official.build_templates` after
changing this layout. Users download them and edit them in Word or WPS.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from docx import Document as new_document
from docx.document import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph

from workflows.official import kinds

FOLDER = Path(__file__).parent / "templates"
#: The files' stated creation time: fixed, so that rebuilding changes only what the layout changes.
BUILT = datetime(2026, 1, 1)
BODY_FONT = "仿宋_GB2312"
HEADING_FONT = "黑体"
TITLE_FONT = "方正小标宋简体"
BODY_SIZE = Pt(16)
TITLE_SIZE = Pt(22)


def _font(run_or_style: object, name: str, size: Pt, *, bold: bool = False) -> None:
    font = run_or_style.font  # type: ignore[attr-defined]
    font.name = "Times New Roman"
    font.size = size
    font.bold = bold
    properties = run_or_style.element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        properties.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), name)


def _document() -> Document:
    document = new_document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = document.styles["Normal"]
    _font(normal, BODY_FONT, BODY_SIZE)
    layout = normal.paragraph_format
    layout.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    layout.line_spacing = Pt(28)
    layout.space_before = layout.space_after = Pt(0)
    return document


def _line(
    document: Document,
    text: str = "",
    *,
    align: WD_ALIGN_PARAGRAPH | None = None,
    indent: bool = True,
    font: str = BODY_FONT,
    size: Pt = BODY_SIZE,
) -> Paragraph:
    paragraph = document.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    if indent and align is None:
        paragraph.paragraph_format.first_line_indent = Pt(32)  # two characters
    if text:
        _font(paragraph.add_run(text), font, size)
    return paragraph


def _title(document: Document, *lines: str) -> None:
    for text in lines:
        paragraph = _line(
            document, text, align=WD_ALIGN_PARAGRAPH.CENTER, font=TITLE_FONT, size=TITLE_SIZE
        )
        paragraph.paragraph_format.line_spacing = Pt(36)


def _heading(document: Document, text: str) -> None:
    _line(document, text, font=HEADING_FONT)


def _tag(document: Document, tag: str) -> None:
    """A docxtpl paragraph tag ({%p if … %}): the paragraph disappears when rendered."""
    document.add_paragraph(tag)


def _signature(document: Document) -> None:
    _line(document)
    _line(document, "{{ organ }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    _line(document, "{{ date_cn }}", align=WD_ALIGN_PARAGRAPH.RIGHT)


def _border(paragraph: Paragraph, *edges: str) -> None:
    borders = OxmlElement("w:pBdr")
    for edge in edges:
        rule = OxmlElement(f"w:{edge}")
        rule.set(qn("w:val"), "single")
        rule.set(qn("w:sz"), "8")
        rule.set(qn("w:space"), "1")
        rule.set(qn("w:color"), "000000")
        borders.append(rule)
    paragraph._p.get_or_add_pPr().append(borders)


def _copy_line(document: Document) -> None:
    """版记: 抄送 between two rules, in 四号 (14 pt)."""
    _line(document)
    _tag(document, "{%p if copy_to %}")
    paragraph = _line(document, "抄送：{{ copy_to }}。", indent=False, size=Pt(14))
    _border(paragraph, "top", "bottom")
    _tag(document, "{%p endif %}")


def _head(document: Document) -> None:
    _title(document, "{{ organ }}", "{{ title }}")
    _line(document)
    _line(document, "{{ number }}", align=WD_ALIGN_PARAGRAPH.CENTER)
    _line(document)


def _appeal_right(document: Document) -> None:
    _tag(document, "{%p if appeal_right %}")
    _line(document, "{{ appeal_right }}")
    _tag(document, "{%p endif %}")


def accountability_decision() -> Document:
    document = _document()
    _head(document)
    _line(
        document,
        "{{ cadre_name }}，所在单位：{{ cadre_unit }}，职务：{{ cadre_post }}。（案件编号：{{ case_number }}）",
    )
    _heading(document, "一、问题事实")
    _line(document, "{{ facts }}")
    _heading(document, "二、问责决定")
    _line(document, "{{ decision }}。")
    _tag(document, "{%p if promotion_note %}")
    _line(document, "{{ promotion_note }}")
    _tag(document, "{%p endif %}")
    _heading(document, "三、理由和依据")
    _line(document, "{{ reasons }}")
    _line(document, "依据{{ rule }}的规定，作出本决定。")
    _appeal_right(document)
    _signature(document)
    _copy_line(document)
    return document


def tolerance_opinion() -> Document:
    document = _document()
    _head(document)
    _line(
        document,
        "{{ cadre_name }}，所在单位：{{ cadre_unit }}，职务：{{ cadre_post }}。（案件编号：{{ case_number }}）",
    )
    _heading(document, "一、基本情况")
    _line(document, "{{ facts }}")
    _heading(document, "二、六个要件综合分析")
    _tag(document, "{%p for element in elements %}")
    _line(
        document,
        "{{ loop.index }}. {{ element.name }}：{{ element.finding }}。{{ element.reason }}",
    )
    _tag(document, "{%p endfor %}")
    _heading(document, "三、认定意见")
    _line(document, "{{ decision }}。{{ reasons }}")
    _tag(document, "{%p if not_tolerated_reason %}")
    _heading(document, "四、不予容错的说明")
    _line(document, "{{ not_tolerated_reason }}")
    _tag(document, "{%p endif %}")
    _tag(document, "{%p if rectification %}")
    _heading(document, "四、纠错整改要求")
    _line(document, "{{ rectification }}请于{{ deadline_cn }}前完成整改。")
    _tag(document, "{%p endif %}")
    _line(document, "依据{{ rule }}的规定，提出以上认定意见。")
    _appeal_right(document)
    _signature(document)
    _copy_line(document)
    return document


def appeal_review_decision() -> Document:
    document = _document()
    _head(document)
    _line(
        document,
        "申诉人：{{ cadre_name }}，所在单位：{{ cadre_unit }}，职务：{{ cadre_post }}。（案件编号：{{ case_number }}）",
    )
    _line(document, "申诉人对{{ original_case_number }}号案件的决定不服，提出申诉。")
    _heading(document, "一、申诉理由")
    _line(document, "{{ appeal_grounds }}")
    _heading(document, "二、复核决定")
    _line(document, "经复核，决定{{ decision }}。")
    _heading(document, "三、理由和依据")
    _line(document, "{{ reasons }}")
    _line(document, "依据{{ rule }}的规定，作出本复核决定。")
    _signature(document)
    _copy_line(document)
    return document


def rectification_notice() -> Document:
    document = _document()
    _head(document)
    _line(document, "{{ cadre_name }}同志：", indent=False)
    _line(document, "（案件编号：{{ case_number }}）{{ facts }}")
    _line(document, "依据{{ rule }}的规定，{{ decision }}。整改要求如下：")
    _line(document, "{{ rectification }}")
    _tag(document, "{%p if reasons %}")
    _line(document, "{{ reasons }}")
    _tag(document, "{%p endif %}")
    _line(
        document,
        "请于{{ deadline_cn }}前书面报告整改情况。逾期未完成整改或者整改不力的，将依规依纪追究责任。",
    )
    _signature(document)
    _copy_line(document)
    return document


def clarification_letter() -> Document:
    document = _document()
    _head(document)
    _line(document, "{{ cadre_unit }}：", indent=False)
    _line(
        document,
        "关于反映{{ cadre_name }}同志（{{ cadre_post }}）的问题（案件编号：{{ case_number }}）：{{ facts }}",
    )
    _line(document, "{{ reasons }}")
    _line(
        document,
        "{{ decision }}。澄清方式：{{ clarification_form }}；澄清范围：{{ clarification_scope }}。",
    )
    _line(document, "依据{{ rule }}的规定，特此函告。")
    _signature(document)
    _copy_line(document)
    return document


def service_receipt() -> Document:
    document = _document()
    _title(document, "{{ organ }}", "{{ title }}")
    _line(document)
    rows = (
        ("送达文书", "{{ served_title }}（{{ number }}）"),
        ("案件编号", "{{ case_number }}"),
        ("受送达人", "{{ cadre_name }}（{{ cadre_post }}）"),
        ("送达机关", "{{ organ }}"),
        ("送达方式", ""),
        ("送达地点", ""),
        ("受送达人签名", "\n年　月　日"),
        ("送达人签名", "\n年　月　日"),
        ("代收人及代收理由", ""),
        ("备注", ""),
    )
    table = document.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    table.columns[0].width, table.columns[1].width = Mm(45), Mm(111)
    for row, (label, value) in zip(table.rows, rows, strict=True):
        row.height = Mm(16)
        row.cells[0].width, row.cells[1].width = Mm(45), Mm(111)
        for cell, text in zip(row.cells, (label, value), strict=True):
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.first_line_indent = Pt(0)
            if text:
                _font(paragraph.add_run(text), BODY_FONT, BODY_SIZE)
    _line(document)
    _line(document, "{{ date_cn }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    return document


BUILDERS = {
    kinds.ACCOUNTABILITY: accountability_decision,
    kinds.TOLERANCE: tolerance_opinion,
    kinds.APPEAL: appeal_review_decision,
    kinds.RECTIFICATION: rectification_notice,
    kinds.CLARIFICATION: clarification_letter,
    kinds.RECEIPT: service_receipt,
}


def main() -> None:
    """Writes every kind's template into FOLDER."""
    FOLDER.mkdir(exist_ok=True)
    for key, build in BUILDERS.items():
        document = build()
        document.core_properties.title = kinds.KINDS[key].title
        document.core_properties.author = "cadreflow"
        document.core_properties.created = document.core_properties.modified = BUILT
        document.core_properties.last_modified_by = "cadreflow"
        document.save(str(FOLDER / f"{key}.docx"))


if __name__ == "__main__":
    main()
