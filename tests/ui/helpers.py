"""Page objects for the eolab sidebar: one class per panel, selectors in one place.

The selectors are the class names and ``data-*`` attributes the extension renders
(``labextension/sidebar/sidebar.ts``, ``datasets/panel.ts``, ``search/panel.ts``,
``tags/tagform.ts``, ``featurestore/*.ts``). Methods wait for what they caused, so tests read as user steps.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Locator, Page, expect


def attr(value: str) -> str:
    """``value`` quoted for a CSS attribute selector (names may hold quotes or markup)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Dialog:
    """The JupyterLab modal dialog that is open now (InputDialog, showDialog)."""

    def __init__(self, page: Page) -> None:
        self.root = page.locator(".jp-Dialog")
        expect(self.root).to_be_visible()

    @property
    def body(self) -> Locator:
        return self.root.locator(".jp-Dialog-body")

    def fill(self, text: str) -> None:
        self.root.locator("input").fill(text)

    def accept(self) -> None:
        self.root.locator(".jp-mod-accept").click()
        expect(self.root).to_have_count(0)

    def reject(self) -> None:
        self.root.locator(".jp-mod-reject").click()
        expect(self.root).to_have_count(0)


class EolabSidebar:
    """The left-hand eolab sidebar: project picker and one tab per panel."""

    TAB = 'li[data-id="eolab-sidebar"]'

    def __init__(self, page: Page) -> None:
        self.page = page
        self.root = page.locator("#eolab-sidebar")
        self.picker = self.root.locator(".eolab-project-picker")
        self.status = self.root.locator(".eolab-sidebar-header .eolab-status")
        self.tabs = self.root.locator(".eolab-tabbar .lm-TabBar-tab")

    def open(self) -> None:
        """Show the sidebar (clicking its tab again would hide it, so look first)."""
        if not self.root.is_visible():
            self.page.locator(self.TAB).click()
        expect(self.root).to_be_visible()

    def wait_for_project(self, name: str) -> None:
        """Wait for the project list to load, then make ``name`` the current project."""
        expect(self.picker.locator(f"option[value={attr(name)}]")).to_have_count(1)
        if self.picker.input_value() != name:
            self.choose_project(name)
        expect(self.picker).to_have_value(name)

    @property
    def project(self) -> str:
        return self.picker.input_value()

    def projects(self) -> list[str]:
        return self.picker.locator("option").all_inner_texts()

    def choose_project(self, name: str) -> None:
        self.picker.select_option(name)

    def tab_labels(self) -> list[str]:
        return [t.strip() for t in self.tabs.locator(".lm-TabBar-tabLabel").all_inner_texts()]

    def current_tab(self) -> str:
        return self.tabs.and_(self.root.locator(".lm-mod-current")).inner_text().strip()

    def panel(self, panel_id: str) -> Locator:
        return self.root.locator(f'.eolab-panel[data-panel="{panel_id}"]')

    def show(self, label: str) -> None:
        """Switch to the tab labelled ``label``."""
        tab = self.tabs.filter(has=self.page.get_by_text(label, exact=True))
        tab.click()
        expect(tab).to_have_class(re.compile(r"\blm-mod-current\b"))

    def datasets(self) -> DatasetsPanel:
        self.show("Datasets")
        return DatasetsPanel(self.page, self.panel("datasets"))

    def search(self) -> SearchPanel:
        self.show("Search")
        return SearchPanel(self.page, self.panel("search"))

    def featurestore(self) -> FeatureStorePanel:
        self.show("Feature Store")
        return FeatureStorePanel(self.page, self.panel("featurestore"))


class TagEditing:
    """The tag editor (``tags/tagform.ts``), wherever it is: ``tags`` is its root."""

    tags: Locator

    def wait_tags_loaded(self) -> None:
        expect(self.tags.locator(".eolab-tag-list")).to_be_visible()

    def tag_values(self) -> dict[str, Any]:
        """The tags shown: schema name → value (as rendered JSON, parsed)."""
        self.wait_tags_loaded()
        pairs = self.tags.locator(".eolab-tag-list").evaluate(
            """dl => Array.from(dl.querySelectorAll('dd.eolab-tag-value')).map(dd =>
                   [dd.previousElementSibling.firstChild.textContent, dd.textContent])"""
        )
        return {schema: json.loads(value) for schema, value in pairs}

    @property
    def tag_form(self) -> Locator:
        return self.tags.locator("form.eolab-tag-form")

    def add_tag(self, schema: str) -> None:
        """Choose ``schema`` and open the empty form for it."""
        self.wait_tags_loaded()
        self.tags.locator(".eolab-tag-schema").select_option(schema)
        self.tags.locator(".eolab-tag-add").click()
        expect(self.tag_form).to_have_attribute("data-schema", schema)

    def edit_tag(self, schema: str) -> None:
        self.tags.locator(f".eolab-tag-edit[title={attr('Edit ' + schema)}]").click()
        expect(self.tag_form).to_have_attribute("data-schema", schema)

    def tag_field(self, name: str) -> Locator:
        return self.tag_form.locator(f".eolab-tag-field[data-field={attr(name)}]")

    def fill_tag(self, values: dict[str, str]) -> None:
        """Type into the form's fields (arrays as comma-separated text)."""
        for name, value in values.items():
            self.tag_field(name).locator("input").fill(value)

    def save_tag(self, accepted: bool = True) -> None:
        """Submit the form; wait until it is gone (saved) or shows the server's error."""
        self.tag_form.locator(".eolab-tag-save").click()
        if accepted:
            expect(self.tag_form).to_have_count(0)
        else:
            expect(self.form_error).not_to_be_empty()

    def field_error(self, name: str) -> Locator:
        return self.tag_field(name).locator(".eolab-field-error")

    @property
    def form_error(self) -> Locator:
        return self.tag_form.locator(".eolab-form-error")

    @property
    def tag_status(self) -> Locator:
        return self.tags.locator(".eolab-status")


class TagEditor(TagEditing):
    """A tag editor found by its root locator."""

    def __init__(self, root: Locator) -> None:
        self.tags = root


class DatasetsPanel(TagEditing):
    """The Datasets tab: datasets, folders, uploads, preview and the tag editor."""

    def __init__(self, page: Page, root: Locator) -> None:
        self.page = page
        self.root = root
        expect(root).to_be_visible()
        self.list = root.locator(".eolab-file-list")
        self.rows = self.list.locator("li.eolab-file")
        self.crumbs = root.locator(".eolab-breadcrumb .eolab-crumb")
        self.status = root.locator(".eolab-breadcrumb + .eolab-status")
        self.error = root.locator(".eolab-breadcrumb + .eolab-status-error")
        self.details = root.locator(".eolab-details")
        self.uploads = root.locator(".eolab-uploads")
        self.file_input = root.locator(".eolab-file-input")

    # ---- listing and navigation ---------------------------------------------------------

    def row(self, name: str) -> Locator:
        return self.list.locator(f"li.eolab-file[data-name={attr(name)}]")

    def wait_listed(self, name: str) -> Locator:
        row = self.row(name)
        expect(row).to_be_visible()
        return row

    def names(self) -> list[str]:
        """The names listed now (wait for an expected one first: the list fills async)."""
        return self.rows.evaluate_all("els => els.map(e => e.dataset.name)")

    def breadcrumb(self) -> list[str]:
        return [c.strip() for c in self.crumbs.all_inner_texts()]

    def location(self) -> str:
        """The ``data-path`` of the last crumb: '' for the dataset list."""
        return self.crumbs.last.get_attribute("data-path") or ""

    def wait_at(self, path: str) -> None:
        expect(self.crumbs.last).to_have_attribute("data-path", path)
        # the listing of this folder is in once it shows rows or says it is empty
        expect(self.list.locator("li").first).to_be_visible()

    def open(self, name: str) -> None:
        """Open a dataset or folder of the current listing."""
        here = self.location()
        self.wait_listed(name).locator(".eolab-name").click()
        self.wait_at(f"{here}/{name}" if here else name)

    def go_to(self, path: str) -> None:
        """Click the breadcrumb of ``path`` ('' is the project's dataset list)."""
        self.crumbs.and_(self.root.locator(f"[data-path={attr(path)}]")).click()
        self.wait_at(path)

    def refresh(self) -> None:
        self.root.locator(".eolab-refresh-files").click()

    # ---- changes --------------------------------------------------------------------------

    def upload(self, files: dict[str, bytes], via_button: bool = True) -> None:
        """Upload ``{name: content}`` into the open folder and wait until each is listed.

        With ``via_button`` the toolbar's Upload button opens the file chooser (the user's
        path); otherwise the hidden file input gets the files directly.
        """
        payload = [
            {"name": name, "mimeType": "application/octet-stream", "buffer": data}
            for name, data in files.items()
        ]
        if via_button:
            with self.page.expect_file_chooser() as chooser:
                self.root.locator(".eolab-upload").click()
            chooser.value.set_files(payload)
        else:
            self.file_input.set_input_files(payload)
        for name in files:
            self.wait_upload_done(name)
            self.wait_listed(name)

    def upload_item(self, name: str) -> Locator:
        return self.uploads.locator(f"li.eolab-upload-item[data-name={attr(name)}]")

    def wait_upload_done(self, name: str) -> None:
        """Wait for the upload's progress row to say done (it disappears 4 s later)."""
        item = self.upload_item(name)
        expect(item).to_have_class(re.compile(r"\beolab-upload-(done|failed)\b"))
        state = item.locator(".eolab-upload-state").inner_text()
        assert state == "done", f"upload of {name!r} failed: {state}"

    def new_folder(self, name: str) -> None:
        self.root.locator(".eolab-new-folder").click()
        dialog = Dialog(self.page)
        dialog.fill(name)
        dialog.accept()

    def new_dataset(self, name: str) -> None:
        """Ask for a dataset through the 'New dataset' dialog (errors land in the status)."""
        self.root.locator(".eolab-new-dataset").click()
        dialog = Dialog(self.page)
        dialog.fill(name)
        dialog.accept()

    def delete(self, name: str, confirm: bool = True) -> str:
        """Click the row's delete button; accept or cancel the confirmation; its text."""
        self.row(name).locator(".eolab-delete").click()
        dialog = Dialog(self.page)
        text = dialog.body.inner_text()
        if confirm:
            dialog.accept()
            expect(self.row(name)).to_have_count(0)
        else:
            dialog.reject()
        return text

    # ---- selection and preview ------------------------------------------------------------

    def select(self, name: str) -> None:
        row = self.wait_listed(name)
        row.locator(".eolab-name").click()
        expect(row).to_have_class(re.compile(r"\beolab-selected\b"))

    @property
    def preview(self) -> Locator:
        return self.details.locator(".eolab-preview")

    def preview_text(self) -> str:
        text = self.preview.locator(".eolab-preview-text")
        expect(text).to_be_visible()
        return text.inner_text()

    # ---- tags -------------------------------------------------------------------------------

    @property
    def tags(self) -> Locator:
        """The tag editor of the open dataset or the selected file."""
        return self.details.locator(".eolab-tags")


@dataclass(frozen=True)
class Hit:
    kind: str
    ref: str
    name: str
    marked: list[str]


class SearchPanel:
    """The Search tab: a term, a scope, and the hits."""

    def __init__(self, page: Page, root: Locator) -> None:
        self.page = page
        self.root = root
        expect(root).to_be_visible()
        self.term = root.locator(".eolab-search-term")
        self.scope = root.locator(".eolab-search-scope")
        self.status = root.locator(".eolab-status")
        self.results = root.locator(".eolab-search-results .eolab-hit")

    def search(self, term: str, scope: str = "everything") -> list[Hit]:
        """Submit ``term`` in ``scope`` (an option value) and return the hits once shown."""
        self.term.fill(term)
        self.scope.select_option(scope)
        self.root.locator(".eolab-search-go").click()
        expect(self.status).to_have_text(re.compile(r"^\d+ hits?$|\(\w+\)$"))
        return self.hits()

    def hits(self) -> list[Hit]:
        rows = self.results.evaluate_all(
            """els => els.map(e => ({
                   kind: e.dataset.kind, ref: e.dataset.ref,
                   name: e.querySelector('.eolab-hit-name').textContent,
                   marked: Array.from(e.querySelectorAll('mark')).map(m => m.textContent)}))"""
        )
        return [Hit(**row) for row in rows]

    def hit(self, kind: str, ref: str) -> Locator:
        return self.root.locator(f".eolab-hit[data-kind={attr(kind)}][data-ref={attr(ref)}]")

    def open_hit(self, kind: str, ref: str) -> None:
        self.hit(kind, ref).click()


@dataclass(frozen=True)
class CommitMark:
    """One mark of the commits timeline: the commit and its drawn row counts."""

    commit_id: int
    inserted: int
    updated: int
    deleted: int


class FeatureStorePanel:
    """The Feature Store tab: the feature groups list, and one group in detail."""

    def __init__(self, page: Page, root: Locator) -> None:
        self.page = page
        self.root = root
        expect(root).to_be_visible()
        self.filter = root.locator(".eolab-fs-filter")
        self.groups = root.locator("li.eolab-fs-group")
        self.empty = root.locator(".eolab-fs-groups .eolab-empty")
        self.status = root.locator(".eolab-fs-toolbar + .eolab-status")
        self.list_status = root.locator(".eolab-fs-list .eolab-status")
        self.detail = root.locator(".eolab-fs-detail")
        self.crumbs = root.locator(".eolab-fs-crumbs")

    # ---- the list ---------------------------------------------------------------------------

    def group(self, name: str) -> Locator:
        return self.groups.and_(self.root.locator(f"[data-name={attr(name)}]"))

    def wait_listed(self, name: str) -> Locator:
        row = self.group(name)
        expect(row).to_be_visible()
        return row

    def names(self) -> list[str]:
        return self.groups.evaluate_all("els => els.map(e => e.dataset.name)")

    def filter_by(self, text: str) -> None:
        self.filter.fill(text)

    def refresh(self) -> None:
        self.root.locator(".eolab-fs-refresh").click()

    def back_to_list(self) -> None:
        self.crumbs.locator(".eolab-crumb").click()
        expect(self.filter).to_be_visible()

    def open(self, name: str, version: int | None = None) -> None:
        """Open ``name`` from the list; wait until its detail (and version) is shown."""
        self.wait_listed(name).click()
        self.wait_open(name, version)

    def wait_open(self, name: str, version: int | None = None) -> None:
        expect(self.detail.locator(".eolab-fs-name")).to_have_text(name)
        if version is not None:
            expect(self.detail.locator(".eolab-fs-version")).to_have_value(str(version))
        expect(self.detail.locator(".eolab-fs-schema")).to_be_visible()

    # ---- one group ----------------------------------------------------------------------------

    @property
    def version(self) -> int:
        return int(self.detail.locator(".eolab-fs-version").input_value())

    def choose_version(self, version: int) -> None:
        name = self.detail.locator(".eolab-fs-name").inner_text()
        self.detail.locator(".eolab-fs-version").select_option(str(version))
        self.wait_open(name, version)

    def badges(self) -> list[str]:
        return self.detail.locator(".eolab-fs-title .eolab-badge").all_inner_texts()

    def row_count(self) -> str:
        return self.detail.locator(".eolab-fs-row-count").inner_text()

    def schema(self) -> dict[str, tuple[str, list[str]]]:
        """feature → (type, key badges) as the schema table shows them."""
        rows = self.detail.locator("tr.eolab-fs-feature").evaluate_all(
            """els => els.map(e => [e.dataset.feature,
                   e.querySelector('.eolab-fs-feature-type').textContent,
                   Array.from(e.querySelectorAll('.eolab-badge')).map(b => b.textContent)])"""
        )
        return {name: (kind, badges) for name, kind, badges in rows}

    @property
    def commits(self) -> Locator:
        return self.detail.locator(".eolab-fs-timeline .eolab-fs-commit")

    def commit(self, commit_id: int) -> Locator:
        return self.commits.and_(self.detail.locator(f'[data-commit-id="{commit_id}"]'))

    def commit_marks(self) -> list[CommitMark]:
        """The marks drawn on the timeline, oldest first."""
        marks = self.commits.evaluate_all(
            """els => els.map(e => {
                   const rows = k => Number(e.querySelector('.eolab-fs-' + k)?.dataset.rows || 0);
                   return {commit_id: Number(e.dataset.commitId), inserted: rows('inserted'),
                           updated: rows('updated'), deleted: rows('deleted')};
               })"""
        )
        return [CommitMark(**m) for m in marks]

    def hover_commit(self, commit_id: int) -> str:
        """Point at a commit mark; the caption under the timeline then describes it."""
        self.commit(commit_id).hover()
        caption = self.detail.locator(".eolab-fs-commit-caption")
        expect(caption).to_contain_text(f"commit {commit_id} ")
        return caption.inner_text()

    def choose_commit(self, commit_id: int) -> None:
        """Click a commit mark: statistics and preview move to it."""
        self.commit(commit_id).click()
        expect(self.commit(commit_id)).to_have_class(re.compile(r"\beolab-fs-commit-selected\b"))

    def stat(self, feature: str) -> Locator:
        return self.detail.locator(f".eolab-fs-stat[data-feature={attr(feature)}]")

    def statistics(self, feature: str) -> dict[str, str]:
        """The numbers shown for ``feature`` (label → text)."""
        card = self.stat(feature)
        expect(card).to_be_visible()
        pairs = card.locator("dd[data-stat]").evaluate_all(
            "els => els.map(e => [e.dataset.stat, e.textContent])"
        )
        return dict(pairs)

    def statistics_caption(self) -> Locator:
        return self.detail.locator(".eolab-fs-stat-caption")

    def histogram(self, feature: str) -> list[int]:
        """The bar counts of ``feature``'s drawn histogram."""
        bars = self.stat(feature).locator("svg.eolab-fs-histogram rect.eolab-fs-bar")
        expect(bars.first).to_be_attached()
        return [int(n) for n in bars.evaluate_all("els => els.map(e => e.dataset.count)")]

    def preview_caption(self) -> Locator:
        return self.detail.locator(".eolab-fs-preview-caption")

    def preview_rows(self) -> list[dict[str, str]]:
        """The preview table: one dict per row, column → cell text."""
        expect(self.preview_caption()).to_be_visible()
        return self.detail.locator("tr.eolab-fs-preview-row").evaluate_all(
            """els => els.map(tr => Object.fromEntries(Array.from(tr.querySelectorAll('td'))
                   .map(td => [td.dataset.column, td.textContent])))"""
        )

    def preview_as_of(self, commit_id: int | None) -> None:
        """Pick a commit (None: latest) in the preview's as-of picker."""
        self.detail.locator(".eolab-fs-as-of").select_option(
            "" if commit_id is None else str(commit_id)
        )

    def preview_online(self) -> None:
        self.detail.locator(".eolab-fs-online").check()
        expect(self.preview_caption()).to_contain_text("online store")

    def tags(self) -> dict[str, Any]:
        return self.tag_editor().tag_values()

    def tag_editor(self) -> TagEditor:
        """The tag editor of the open feature group or training dataset."""
        shown = self.root.locator(".eolab-fs-detail:visible, .eolab-fs-td-detail:visible")
        return TagEditor(shown.locator(".eolab-fs-tags .eolab-tags"))

    # ---- expectations and validations of the open group -------------------------------------

    @property
    def validations(self) -> Locator:
        return self.detail.locator(".eolab-fs-validations")

    def validation_type(self) -> str:
        badge = self.detail.locator(".eolab-fs-validation-type .eolab-badge-vtype")
        expect(badge).to_be_visible()
        return badge.inner_text()

    def expectations(self) -> dict[str, list[tuple[str, str, str]]]:
        """expectation → its rules as shown: (rule, level, bounds)."""
        expect(self.detail.locator(".eolab-fs-expectation").first).to_be_visible()
        rows = self.detail.locator(".eolab-fs-expectation").evaluate_all(
            """els => els.map(e => [e.dataset.expectation,
                   Array.from(e.querySelectorAll('.eolab-fs-rule')).map(r => [r.dataset.rule,
                       r.querySelector('[data-level]').dataset.level,
                       r.querySelector('.eolab-fs-rule-bounds').textContent])])"""
        )
        return {name: [tuple(r) for r in rules] for name, rules in rows}

    def last_validation(self) -> tuple[str, dict[str, int], dict[str, str]]:
        """The last validation's status, its counts, and the colour class of each count."""
        last = self.validations.locator(".eolab-fs-last-validation")
        expect(last).to_be_visible()
        status = last.locator(".eolab-vstatus").get_attribute("data-status") or ""
        counts = last.locator(".eolab-fs-count").evaluate_all(
            "els => els.map(e => [e.dataset.kind, Number(e.dataset.count), e.className])"
        )
        return (
            status,
            {kind: n for kind, n, _ in counts},
            {kind: cls for kind, _, cls in counts},
        )

    def history(self) -> list[tuple[int | None, str, str]]:
        """The validations listed, newest first: (validation id, status, caption)."""
        items = self.validations.locator(".eolab-fs-validation-item").evaluate_all(
            """els => els.map(e => [e.dataset.validationId, e.dataset.status,
                   e.querySelector('.eolab-fs-validation-commit').textContent])"""
        )
        return [(int(i) if i else None, status, text) for i, status, text in items]

    def open_report(self, validation_id: int) -> None:
        self.validations.locator(
            f'.eolab-fs-validation-item[data-validation-id="{validation_id}"]'
        ).click()
        expect(self.report).to_have_attribute("data-validation-id", str(validation_id))

    @property
    def report(self) -> Locator:
        return self.validations.locator(".eolab-fs-report")

    def report_results(self) -> list[dict[str, str]]:
        """Each rule result of the report shown: expectation, rule, status, value, message."""
        return self.report.evaluate(
            """r => {
                   const out = []; let expectation = null;
                   for (const el of r.querySelectorAll('.eolab-fs-report-expectation, .eolab-fs-result')) {
                       if (el.classList.contains('eolab-fs-report-expectation')) {
                           expectation = el.dataset.expectation; continue;
                       }
                       out.push({expectation, rule: el.dataset.rule, status: el.dataset.status,
                                 value: el.querySelector('.eolab-fs-result-value').dataset.value,
                                 message: el.querySelector('.eolab-fs-result-message').textContent});
                   }
                   return out;
               }"""
        )

    # ---- training datasets ------------------------------------------------------------------

    @property
    def datasets(self) -> Locator:
        return self.root.locator("li.eolab-fs-td")

    @property
    def td_detail(self) -> Locator:
        return self.root.locator(".eolab-fs-td-detail")

    def dataset(self, name: str) -> Locator:
        return self.datasets.and_(self.root.locator(f"[data-name={attr(name)}]"))

    def dataset_names(self) -> list[str]:
        return self.datasets.evaluate_all("els => els.map(e => e.dataset.name)")

    def open_dataset(self, name: str, version: int | None = None) -> None:
        row = self.dataset(name)
        expect(row).to_be_visible()
        row.click()
        self.wait_dataset_open(name, version)

    def wait_dataset_open(self, name: str, version: int | None = None) -> None:
        expect(self.td_detail.locator(".eolab-fs-name")).to_have_text(name)
        if version is not None:
            expect(self.td_detail.locator(".eolab-fs-td-version")).to_have_value(str(version))
        expect(self.td_detail.locator(".eolab-fs-splitbar")).to_be_visible()

    def dataset_format(self) -> str:
        return self.td_detail.locator(".eolab-fs-title .eolab-badge-format").inner_text()

    def splits(self) -> list[SplitShown]:
        """The segments of the splits bar, in order, with their drawn widths."""
        rows = self.td_detail.locator(".eolab-fs-split").evaluate_all(
            """els => els.map(e => ({name: e.dataset.split, size: Number(e.dataset.size),
                   width: e.getBoundingClientRect().width,
                   selected: e.classList.contains('eolab-selected')}))"""
        )
        return [SplitShown(**r) for r in rows]

    def choose_split(self, name: str) -> None:
        """Click the split's segment on the bar: statistics and preview move to it."""
        segment = self.td_detail.locator(f".eolab-fs-split[data-split={attr(name)}]")
        segment.click()
        expect(self.td_detail.locator(f".eolab-fs-split[data-split={attr(name)}]")).to_have_class(
            re.compile(r"\beolab-selected\b")
        )
        expect(self.td_detail.locator(".eolab-fs-stat-caption")).to_contain_text(f"split {name}")
        expect(self.td_detail.locator(".eolab-fs-preview-caption")).to_contain_text(f"split {name}")

    def provenance(self) -> list[tuple[str, int, int | None]]:
        links = self.td_detail.locator(".eolab-fs-provenance-link").evaluate_all(
            "els => els.map(e => [e.dataset.name, e.dataset.version, e.dataset.commitId])"
        )
        return [(name, int(v), int(c) if c else None) for name, v, c in links]

    def follow_provenance(self, name: str) -> None:
        self.td_detail.locator(f".eolab-fs-provenance-link[data-name={attr(name)}]").click()

    def dataset_features(self) -> dict[str, tuple[str, str, bool]]:
        """feature → (type, shape, is the label) as the features table shows them."""
        rows = self.td_detail.locator("tr.eolab-fs-feature").evaluate_all(
            """els => els.map(e => [e.dataset.feature,
                   e.querySelector('.eolab-fs-feature-type').textContent,
                   e.querySelector('.eolab-fs-feature-shape').textContent,
                   !!e.querySelector('.eolab-badge-label')])"""
        )
        return {name: (kind, shape, label) for name, kind, shape, label in rows}

    def dataset_histogram(self, feature: str) -> list[int]:
        bars = self.td_detail.locator(
            f".eolab-fs-stat[data-feature={attr(feature)}] svg.eolab-fs-histogram rect.eolab-fs-bar"
        )
        expect(bars.first).to_be_attached()
        return [int(n) for n in bars.evaluate_all("els => els.map(e => e.dataset.count)")]

    def dataset_preview_rows(self) -> list[dict[str, str]]:
        expect(self.td_detail.locator(".eolab-fs-preview-caption")).to_be_visible()
        return self.td_detail.locator("tr.eolab-fs-preview-row").evaluate_all(
            """els => els.map(tr => Object.fromEntries(Array.from(tr.querySelectorAll('td'))
                   .map(td => [td.dataset.column, td.textContent])))"""
        )


@dataclass(frozen=True)
class SplitShown:
    """One segment of a training dataset's splits bar."""

    name: str
    size: int
    width: float
    selected: bool


class ExperimentsPanel:
    """The Experiments tab: the runs table, one run in detail, or a comparison of runs."""

    def __init__(self, page: Page, root: Locator) -> None:
        self.page = page
        self.root = root
        expect(root).to_be_visible()
        self.runs = root.locator("tr.eolab-exp-run")
        self.name_filter = root.locator(".eolab-exp-filter")
        self.state_filter = root.locator(".eolab-exp-state-filter")
        self.compare_button = root.locator(".eolab-exp-compare")
        self.status = root.locator(".eolab-exp-toolbar + .eolab-status")
        self.detail = root.locator(".eolab-exp-detail")
        self.comparison = root.locator(".eolab-exp-compare-view")
        self.crumbs = root.locator(".eolab-exp-crumbs")

    @classmethod
    def show(cls, sidebar: EolabSidebar) -> ExperimentsPanel:
        sidebar.show("Experiments")
        return cls(sidebar.page, sidebar.panel("experiments"))

    # ---- the runs table -------------------------------------------------------------------

    def run(self, run_id: str) -> Locator:
        return self.runs.and_(self.root.locator(f"[data-run={attr(run_id)}]"))

    def wait_listed(self, run_id: str) -> Locator:
        row = self.run(run_id)
        expect(row).to_be_visible()
        return row

    def run_ids(self) -> list[str]:
        return self.runs.evaluate_all("els => els.map(e => e.dataset.run)")

    def sort_by(self, column: str) -> None:
        """Click the header of ``column`` ('field:name', 'field:state', 'metric:accuracy'...)."""
        self.root.locator(f'th[data-sort="{column}"]').click()

    def sorted_column(self) -> tuple[str, str]:
        th = self.root.locator("th.eolab-exp-sorted")
        return th.get_attribute("data-sort") or "", th.get_attribute("aria-sort") or ""

    def metric_cells(self, metric: str) -> list[str]:
        return self.root.locator(
            f"tr.eolab-exp-run td[data-metric={attr(metric)}]"
        ).all_inner_texts()

    def filter_by(self, name: str = "", state: str = "") -> None:
        self.name_filter.fill(name)
        self.state_filter.select_option(state)

    def tick(self, run_id: str) -> None:
        self.run(run_id).locator("input.eolab-exp-select").check()

    def refresh(self) -> None:
        self.root.locator(".eolab-exp-refresh").click()

    def back_to_list(self) -> None:
        self.crumbs.locator(".eolab-crumb").click()
        expect(self.name_filter).to_be_visible()

    # ---- one run ---------------------------------------------------------------------------

    def open(self, run_id: str, name: str) -> None:
        self.wait_listed(run_id).click()
        expect(self.detail.locator(".eolab-exp-title")).to_have_text(name)

    def state(self) -> str:
        return self.detail.locator(".eolab-exp-header .eolab-exp-state").inner_text()

    def table_values(self, cls: str) -> dict[str, str]:
        rows = self.detail.locator(f".{cls} tr").evaluate_all(
            "els => els.map(e => [e.dataset.key, e.querySelector('td').textContent])"
        )
        return dict(rows)

    def curve_series(self) -> dict[str, int]:
        """The lines of the curves chart: label → number of steps."""
        lines = self.root.locator(".eolab-exp-chart:visible path.eolab-exp-line")
        expect(lines.first).to_be_attached()
        pairs = lines.evaluate_all("els => els.map(e => [e.dataset.series, e.dataset.points])")
        return {label: int(points) for label, points in pairs}

    def choose_curve(self, metric: str) -> None:
        self.root.locator(
            ".eolab-exp-curve-metric:visible, .eolab-exp-compare-metric:visible"
        ).select_option(metric)

    def scatter_trials(self) -> list[str]:
        points = self.detail.locator("svg.eolab-exp-scatter circle.eolab-exp-point")
        expect(points.first).to_be_attached()
        return points.evaluate_all("els => els.map(e => e.dataset.trial)")

    def best_point(self) -> str | None:
        return self.detail.locator("circle.eolab-exp-point-best").get_attribute("data-trial")

    def trial_states(self) -> dict[str, str]:
        rows = self.detail.locator("tr.eolab-exp-trial").evaluate_all(
            "els => els.map(e => [e.dataset.trial, e.querySelector('.eolab-exp-state').textContent])"
        )
        return dict(rows)

    def select_trial(self, trial_id: str) -> None:
        self.detail.locator(f"tr.eolab-exp-trial[data-trial={attr(trial_id)}]").click()
        expect(self.detail.locator(".eolab-exp-log-trial")).to_have_value(trial_id)

    @property
    def stdout(self) -> Locator:
        return self.detail.locator(".eolab-exp-stdout")

    def artifacts(self) -> list[str]:
        return self.detail.locator(".eolab-exp-artifacts li").evaluate_all(
            "els => els.map(e => e.dataset.name)"
        )

    def datasets(self) -> list[str]:
        return self.detail.locator("a.eolab-exp-dataset").all_inner_texts()

    def models(self) -> list[str]:
        return self.detail.locator(".eolab-exp-models li").evaluate_all(
            "els => els.map(e => e.dataset.name + ' v' + e.dataset.version)"
        )

    def open_tensorboard(self) -> None:
        self.detail.locator(".eolab-exp-tensorboard").click()

    @property
    def detail_status(self) -> Locator:
        return self.detail.locator(".eolab-status").first

    # ---- comparison -------------------------------------------------------------------------

    def compare(self, count: int) -> None:
        expect(self.compare_button).to_have_text(f"Compare {count}")
        self.compare_button.click()
        expect(self.comparison.locator(".eolab-exp-compare-table")).to_be_visible()

    def compared_rows(self) -> dict[str, tuple[list[str], bool]]:
        """key → (each run's value, whether the row is marked as differing)."""
        rows = self.comparison.locator("tr.eolab-exp-compare-row").evaluate_all(
            """els => els.map(e => [e.dataset.key,
                   Array.from(e.querySelectorAll('td')).map(td => td.textContent),
                   e.classList.contains('eolab-exp-diff')])"""
        )
        return {key: (values, differs) for key, values, differs in rows}


class ServingPanel:
    """The Serving tab (``serving/panel.ts``, ``serving/detail.ts``): the create/update form,
    the servings with status and start/stop, one serving in detail (log, tester, monitoring)."""

    def __init__(self, page: Page, root: Locator) -> None:
        self.page = page
        self.root = root
        expect(root).to_be_visible()
        self.servings = root.locator("tr.eolab-sv-serving")
        self.status = root.locator(".eolab-sv-toolbar + .eolab-status")
        self.detail = root.locator(".eolab-sv-detail")
        self.response = root.locator(".eolab-sv-response")
        self.log_records = root.locator("tr.eolab-sv-record")
        self.monitor_view = root.locator(".eolab-sv-monitor")

    @classmethod
    def show(cls, sidebar: EolabSidebar) -> ServingPanel:
        sidebar.show("Serving")
        return cls(sidebar.page, sidebar.panel("serving"))

    def serving(self, name: str) -> Locator:
        return self.servings.and_(self.root.locator(f"[data-serving={attr(name)}]"))

    def wait_status(self, name: str, status: str) -> None:
        expect(self.serving(name).locator(".eolab-sv-status")).to_have_text(status)

    def refresh(self) -> None:
        self.root.locator(".eolab-sv-refresh").click()

    def stop(self, name: str) -> None:
        self.serving(name).locator(".eolab-sv-stop").click()

    def open(self, name: str) -> None:
        self.serving(name).locator(".eolab-sv-open").click()
        expect(self.detail.locator(".eolab-sv-title")).to_have_text(name)

    def back_to_list(self) -> None:
        self.root.locator(".eolab-sv-crumbs .eolab-crumb").click()
        expect(self.servings.first).to_be_visible()

    def detail_value(self, key: str) -> str:
        return self.detail.locator(f".eolab-sv-summary tr[data-key={attr(key)}] td").inner_text()

    def send(self, body: Any) -> tuple[int, Any]:
        """Send ``body`` from the request tester; the answer's status and JSON body."""
        self.response.evaluate("e => { e.textContent = ''; delete e.dataset.status; }")
        self.detail.locator("textarea.eolab-sv-body").fill(json.dumps(body))
        self.detail.locator(".eolab-sv-send").click()
        expect(self.response).to_have_attribute("data-status", re.compile(r"^\d+$"))
        status, _, text = self.response.inner_text().partition("\n")
        return int(status), json.loads(text)

    def create(
        self,
        name: str,
        model: str,
        server: str = "python",
        instances: int = 1,
        sampling: float = 1.0,
    ) -> None:
        """Fill the create/update form and save it."""
        self.root.locator(".eolab-sv-f-name").fill(name)
        self.root.locator(".eolab-sv-f-model").fill(model)
        self.root.locator(".eolab-sv-f-server").select_option(server)
        self.root.locator(".eolab-sv-f-instances").fill(str(instances))
        self.root.locator(".eolab-sv-f-sampling").fill(str(sampling))
        self.root.locator(".eolab-sv-save").click()

    def delete(self, name: str) -> None:
        self.serving(name).locator(".eolab-sv-delete").click()
        expect(self.serving(name)).to_have_count(0)

    def monitor(self) -> dict[str, str]:
        """Run the monitoring; its summary values by name."""
        self.detail.locator(".eolab-sv-monitor-button").click()
        expect(self.monitor_view.locator(".eolab-sv-latency")).to_be_visible()
        rows = self.monitor_view.locator(".eolab-sv-props tr").evaluate_all(
            "els => els.map(e => [e.dataset.key, e.querySelector('td').textContent])"
        )
        return dict(rows)
