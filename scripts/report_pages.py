"""Pages of the HTML report: tables and the effective configuration as small HTML files.

Snakemake's report shows images and HTML inline but offers CSV, Markdown and YAML
files only as downloads, so each table of the report is also written as HTML.
"""

import html
import sys

import yaml

from atomic import write_text
from tables import read_csv

STYLE = """
body { font-family: system-ui, sans-serif; font-size: 14px; margin: 1.5em; color: #222; }
h1 { font-size: 18px; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: left; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: 1em; border: 1px solid #ddd; }
"""


def html_page(title, body):
    """A complete, self-contained HTML page (no external resources)."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def table_html(header, rows):
    """An HTML table; cells that look like numbers are right-aligned."""

    def cell(tag, value):
        text = str(value).strip()
        attrs = ' class="num"' if tag == "td" and _is_number(text) else ""
        return f"<{tag}{attrs}>{html.escape(text)}</{tag}>"

    head = "<tr>" + "".join(cell("th", h) for h in header) + "</tr>"
    body = "\n".join("<tr>" + "".join(cell("td", v) for v in row) + "</tr>" for row in rows)
    return f"<table>\n<thead>{head}</thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _is_number(text):
    """Whether ``text`` is a number (so its cell is right-aligned)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_page(csv_path, out_html, title, empty="The table is empty."):
    """Write a CSV file as an HTML page with one table (``empty`` when it has no rows).

    Returns
    -------
    int
        The number of rows.
    """
    table = read_csv(csv_path, dtype=str, keep_default_na=False)
    body = table_html(table.columns, table.itertuples(index=False)) if len(table) else f"<p>{html.escape(empty)}</p>"
    write_text(out_html, html_page(title, body))
    return len(table)


def markdown_html(text):
    """The Markdown that the workflow writes, as HTML: pipe tables, bulleted lists and plain paragraphs.

    A line starting with ``|`` belongs to a table (header row, ``---``
    separator row, body rows); consecutive lines starting with ``- `` make one
    list (the comparison's advice); any other non-empty line is a paragraph.
    """
    parts, table, items = [], [], []

    def flush():
        if table:
            cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in table]
            body = [row for row in cells[1:] if not all(set(c) <= set("-: ") for c in row)]
            parts.append(table_html(cells[0], body))
            table.clear()
        if items:
            parts.append("<ul>\n" + "\n".join(f"<li>{html.escape(item)}</li>" for item in items) + "\n</ul>")
            items.clear()

    for line in text.splitlines():
        if line.lstrip().startswith("|"):
            if items:
                flush()
            table.append(line)
            continue
        if line.lstrip().startswith("- "):
            if table:
                flush()
            items.append(line.strip()[2:].strip())
            continue
        flush()
        if line.strip():
            parts.append(f"<p>{html.escape(line.strip())}</p>")
    flush()
    return "\n".join(parts)


def markdown_page(md_path, out_html, title):
    """Write a Markdown file of the workflow (e.g. the branch comparison) as an HTML page."""
    with open(md_path, encoding="utf-8") as f:
        write_text(out_html, html_page(title, markdown_html(f.read())))


def effective_config(config, out_yaml, out_html):
    """Write the configuration a run used (config.yaml, --configfile and --config merged).

    Parameters
    ----------
    config : dict
        Snakemake's ``config``.
    out_yaml : str
        The configuration as YAML, usable as ``--configfile`` to repeat the run.
    out_html : str
        The same text as an HTML page for the report.
    """
    text = yaml.safe_dump(_plain(config), sort_keys=False, allow_unicode=True, width=120)
    write_text(out_yaml, text)
    write_text(out_html, html_page("Effective configuration", f"<pre>{html.escape(text)}</pre>"))
    return text


def _plain(value):
    """Snakemake's config as plain dicts and lists (safe_dump refuses its subclasses)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    page = snakemake.params.page
    if page == "config":
        effective_config(snakemake.params.config, snakemake.output.yaml, snakemake.output.html)
    elif page == "markdown":
        markdown_page(snakemake.input[0], snakemake.output[0], snakemake.params.title)
    else:
        csv_page(snakemake.input[0], snakemake.output[0], snakemake.params.title, snakemake.params.empty)
