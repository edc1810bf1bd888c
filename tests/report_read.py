"""Read a rendered report back with an independent library and print what it
holds as JSON (tests/it/report_formats.rs compares it with the Document).

    python3 tests/report_read.py docx|odt|xlsx|html FILE

docx: python-docx; odt: odfpy; xlsx: openpyxl; html: the standard library's
html.parser. See scripts/test.sh for the pinned versions.
"""

import json
import sys
import zipfile


def read_docx(path):
    import docx

    d = docx.Document(path)
    tables = []
    for t in d.tables:
        rows = [[c.text for c in r.cells] for r in t.rows]
        first = t.rows[0].cells if t.rows else []
        header_bold = all(
            run.bold
            for c in first
            for p in c.paragraphs
            for run in p.runs
            if run.text
        )
        right = [
            [c.paragraphs[0].alignment is not None and int(c.paragraphs[0].alignment) == 2 for c in r.cells]
            for r in t.rows
        ]
        tables.append({"rows": rows, "header_bold": header_bold, "right": right})
    return {
        # docx-rs marks no style as the default paragraph style: python-docx
        # then gives unstyled paragraphs no style.
        "paragraphs": [[p.style.name if p.style is not None else "", p.text] for p in d.paragraphs],
        "tables": tables,
        "inline_shapes": len(d.inline_shapes),
        "section": {
            "width_mm": round(d.sections[0].page_width.mm),
            "height_mm": round(d.sections[0].page_height.mm),
            "left_mm": round(d.sections[0].left_margin.mm),
        },
        "heading_outline": {
            s.name: (s.element.pPr.outlineLvl.val if s.element.pPr is not None and s.element.pPr.outlineLvl is not None else None)
            for s in d.styles
            if s.name.startswith("Heading")
        },
    }


def read_odt(path):
    from odf import draw, style, svg, table, teletype, text, dc
    from odf.opendocument import load

    doc = load(path)
    tables = []
    for t in doc.getElementsByType(table.Table):
        rows = [
            [teletype.extractText(c) for c in r.getElementsByType(table.TableCell)]
            for r in t.getElementsByType(table.TableRow)
        ]
        values = [
            [
                [c.getAttribute("valuetype"), c.getAttribute("value")]
                for c in r.getElementsByType(table.TableCell)
            ]
            for r in t.getElementsByType(table.TableRow)
        ]
        tables.append(
            {
                "rows": rows,
                "values": values,
                "header_rows": len(t.getElementsByType(table.TableHeaderRows)),
            }
        )
    z = zipfile.ZipFile(path)
    infos = z.infolist()
    return {
        "headings": [
            [h.getAttribute("outlinelevel"), h.getAttribute("stylename"), teletype.extractText(h)]
            for h in doc.getElementsByType(text.H)
        ],
        "paragraphs": [
            [p.getAttribute("stylename"), teletype.extractText(p)]
            for p in doc.getElementsByType(text.P)
        ],
        "tables": tables,
        "images": [i.getAttribute("href") for i in doc.getElementsByType(draw.Image)],
        "descs": [teletype.extractText(d) for d in doc.getElementsByType(svg.Desc)],
        "styles": sorted(
            s.getAttribute("name") for s in doc.styles.getElementsByType(style.Style)
        ),
        "outline_levels": {
            s.getAttribute("name"): s.getAttribute("defaultoutlinelevel")
            for s in doc.styles.getElementsByType(style.Style)
            if s.getAttribute("defaultoutlinelevel")
        },
        "title": [teletype.extractText(t) for t in doc.meta.getElementsByType(dc.Title)],
        "zip": [[i.filename, i.compress_type] for i in infos],
        "mimetype": z.read("mimetype").decode(),
        "pictures": {
            n: z.read(n)[:8].hex() for n in z.namelist() if n.startswith("Pictures/")
        },
    }


def read_xlsx(path):
    import openpyxl

    wb = openpyxl.load_workbook(path)
    sheets = {}
    for ws in wb.worksheets:
        sheets[ws.title] = {
            "values": [list(r) for r in ws.iter_rows(values_only=True)],
            "formats": [[c.number_format for c in r] for r in ws.iter_rows()],
            "bold": [[bool(c.font and c.font.b) for c in r] for r in ws.iter_rows()],
        }
    return {"sheetnames": wb.sheetnames, "sheets": sheets, "title": wb.properties.title}


def read_html(path):
    from html.parser import HTMLParser

    class P(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.stack = []
            self.headings = []
            self.captions = []
            self.figcaptions = []
            self.tags = {}
            self.th_scopes = []
            self.lang = None
            self.text = []
            self.cells = []
            self._buf = None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            self.tags[tag] = self.tags.get(tag, 0) + 1
            if tag == "html":
                self.lang = a.get("lang")
            if tag == "th":
                self.th_scopes.append(a.get("scope"))
            if tag in ("h1", "h2", "h3", "h4", "caption", "figcaption", "td", "th"):
                self._buf = (tag, a.get("class"), [])

        def handle_endtag(self, tag):
            if self._buf and self._buf[0] == tag:
                t = "".join(self._buf[2]).strip()
                if tag.startswith("h") and tag != "th":
                    self.headings.append([tag, t])
                elif tag == "caption":
                    self.captions.append(t)
                elif tag == "figcaption":
                    self.figcaptions.append(t)
                else:
                    self.cells.append([tag, self._buf[1], t])
                self._buf = None

        def handle_data(self, data):
            self.text.append(data)
            if self._buf:
                self._buf[2].append(data)

    p = P()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    return {
        "lang": p.lang,
        "headings": p.headings,
        "captions": p.captions,
        "figcaptions": p.figcaptions,
        "tags": p.tags,
        "th_scopes": p.th_scopes,
        "cells": p.cells,
        "text": "".join(p.text),
    }


if __name__ == "__main__":
    fmt, path = sys.argv[1], sys.argv[2]
    out = {"docx": read_docx, "odt": read_odt, "xlsx": read_xlsx, "html": read_html}[fmt](path)
    print(json.dumps(out, ensure_ascii=False, default=str))
