"""Refresh locale/km/LC_MESSAGES/django.po: our strings, plus the ones our pages
show that come from Django and the libraries we use.

Django's own km catalogue leaves most form and validation messages
untranslated, and django-countries ships no Khmer at all. Those messages are
added to our catalogue (ours takes precedence over a library's), country names
filled in from CLDR's Khmer territory names, so that every message a signer
can see reads in Khmer. Staff read the admin and the sign-in and two-factor
pages in Khmer too: the messages of Django's admin (and of the contrib apps it
shows) and allauth's that those pages show come in the same way, and the
admin's JavaScript messages (calendar, clock, the time-zone note, "0 of 3
selected") go into djangojs.po. Existing translations are kept.
"""

from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone, translation

SITE_PACKAGES = Path(polib.__file__).resolve().parent
EXTERNAL_MARK = "external:"

# What every Khmer catalogue's header says, whoever wrote the rest of it.
KHMER_HEADER = {"Language": "km", "Plural-Forms": "nplurals=1; plural=0;"}

# The fields of django.po's header (makemessages writes them) that djangojs.po,
# which this command writes from nothing, starts with: with its own
# PO-Revision-Date, all that `msgfmt --check` asks for. Once there, they are
# the file's (a translator's name stays).
HEADER_FIELDS_SHARED = (
    "Project-Id-Version",
    "Last-Translator",
    "Language-Team",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
)

# Which of a library's messages can reach our pages, by the source file that
# raises them.
DJANGO_SOURCES = (
    "core/validators.py",
    "forms/",
    "db/models/fields/",
    "db/models/base.py",
    "contrib/auth/password_validation.py",
    "contrib/auth/forms.py",
    "utils/dates.py",
    "utils/timesince.py",
    "utils/text.py",
    "views/csrf.py",
    "contrib/syndication/",
)
# Django's contrib apps keep their own catalogues: the admin's pages and the
# names of the auth and contenttypes models they list.
DJANGO_CONTRIB_SOURCES = {
    "admin": (
        "contrib/admin/actions.py",
        "contrib/admin/filters.py",
        "contrib/admin/helpers.py",
        "contrib/admin/models.py",
        "contrib/admin/options.py",
        "contrib/admin/sites.py",
        "contrib/admin/templatetags/",
        "contrib/admin/views/main.py",
        "contrib/admin/widgets.py",
        "contrib/admin/templates/admin/actions.html",
        "contrib/admin/templates/admin/app_index.html",
        "contrib/admin/templates/admin/app_list.html",
        "contrib/admin/templates/admin/base.html",
        "contrib/admin/templates/admin/change_form.html",
        "contrib/admin/templates/admin/change_form_object_tools.html",
        "contrib/admin/templates/admin/change_list.html",
        "contrib/admin/templates/admin/change_list_object_tools.html",
        "contrib/admin/templates/admin/change_list_results.html",
        "contrib/admin/templates/admin/color_theme_toggle.html",
        "contrib/admin/templates/admin/date_hierarchy.html",
        "contrib/admin/templates/admin/delete_confirmation.html",
        "contrib/admin/templates/admin/delete_selected_confirmation.html",
        "contrib/admin/templates/admin/edit_inline/",
        "contrib/admin/templates/admin/filter.html",
        "contrib/admin/templates/admin/includes/",
        "contrib/admin/templates/admin/index.html",
        "contrib/admin/templates/admin/nav_sidebar.html",
        "contrib/admin/templates/admin/object_history.html",
        "contrib/admin/templates/admin/pagination.html",
        "contrib/admin/templates/admin/search_form.html",
        "contrib/admin/templates/admin/submit_line.html",
        "contrib/admin/templates/admin/widgets/",
    ),
    "auth": ("contrib/auth/apps.py", "contrib/auth/models.py", "contrib/auth/admin.py"),
    "contenttypes": ("contrib/contenttypes/apps.py", "contrib/contenttypes/models.py"),
}
# The admin's scripts: actions, calendar and clock, the time-zone note, the
# two-list selector.
DJANGO_JAVASCRIPT_SOURCES = (
    "contrib/admin/static/admin/js/actions.js",
    "contrib/admin/static/admin/js/admin/DateTimeShortcuts.js",
    "contrib/admin/static/admin/js/calendar.js",
    "contrib/admin/static/admin/js/SelectFilter2.js",
)
ALLAUTH_SOURCES = (
    "account/apps.py",
    "account/models.py",
    "mfa/apps.py",
    "mfa/models.py",
    "templates/account/base_reauthenticate.html",
    "templates/account/reauthenticate.html",
    "templates/account/messages/logged_in.txt",
    "templates/account/messages/logged_out.txt",
    "templates/account/messages/password_changed.txt",
    "templates/mfa/reauthenticate.html",
    "templates/mfa/messages/",
    "account/forms.py",
    "account/adapter.py",
    "mfa/base/forms.py",
    "mfa/totp/forms.py",
    "mfa/adapter.py",
    "templates/account/login.html",
    "templates/account/logout.html",
    "templates/account/password_reset",
    "templates/account/password_change.html",
    "templates/mfa/authenticate.html",
    "templates/mfa/index.html",
    "templates/mfa/totp/",
    "templates/mfa/recovery_codes/",
    "templates/allauth/layouts/base.html",
)


class Command(BaseCommand):
    help = "Extract strings into locale/km and add the library messages our pages show."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--skip-extract", action="store_true", help="Do not run makemessages first."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        po_path = Path(settings.LOCALE_PATHS[0]) / "km" / "LC_MESSAGES" / "django.po"
        # Read the translations before makemessages turns library messages
        # into obsolete "#~" entries: those lose their plural forms on the way.
        before = polib.pofile(str(po_path), wrapwidth=0) if po_path.exists() else []
        if not options["skip_extract"]:
            call_command(
                "makemessages",
                locale=["km"],
                ignore_patterns=[
                    ".venv/*",
                    ".tools/*",
                    "tests/*",
                    "bench/*",
                    "var/*",
                    "node_modules/*",
                ],
                no_obsolete=False,
                verbosity=0,
            )
        catalogue = polib.pofile(str(po_path), wrapwidth=0)
        previous = {(e.msgctxt, e.msgid): e for e in catalogue if e.obsolete or e.translated()}
        previous.update({(e.msgctxt, e.msgid): e for e in before if e.translated()})
        external = [
            *self._django(),
            *self._django_contrib(),
            *self._phonenumber(),
            *self._allauth(),
            *self._countries(),
        ]
        live = {(e.msgctxt, e.msgid) for e in catalogue if not e.obsolete}
        added = 0
        for entry in external:
            key = (entry.msgctxt, entry.msgid)
            if key in live:
                continue
            old = previous.get(key)
            if old is not None and old.translated() or (old is not None and old.msgstr):
                entry.msgstr = old.msgstr
                entry.msgstr_plural = old.msgstr_plural or entry.msgstr_plural
            catalogue.append(entry)
            live.add(key)
            added += 1
        # Drop obsolete entries now that library messages have been revived.
        for entry in [e for e in catalogue if e.obsolete]:
            catalogue.remove(entry)
        catalogue.metadata.update(KHMER_HEADER)
        catalogue.save(str(po_path))
        untranslated = len(catalogue.untranslated_entries())
        fuzzy = len(catalogue.fuzzy_entries())
        self.stdout.write(
            f"{po_path}: {added} library messages, {untranslated} untranslated, {fuzzy} fuzzy"
        )
        self._javascript_save(po_path.with_name("djangojs.po"), header=catalogue.metadata)

    def _javascript_save(self, po_path: Path, *, header: dict[str, str]) -> None:
        """The admin's script messages, in djangojs.po (the admin's jsi18n
        view reads LOCALE_PATHS after the admin's own catalogue); `header`
        is django.po's."""
        catalogue = (
            polib.pofile(str(po_path), wrapwidth=0)
            if po_path.exists()
            else polib.POFile(wrapwidth=0)
        )
        known = {(e.msgctxt, e.msgid) for e in catalogue}
        added = 0
        for entry in self._django_javascript():
            if (entry.msgctxt, entry.msgid) not in known:
                catalogue.append(entry)
                added += 1
        shared = {field: header[field] for field in HEADER_FIELDS_SHARED if field in header}
        catalogue.metadata = {**shared, **catalogue.metadata, **KHMER_HEADER}
        # msgfmt --check warns without it; moved only when messages came in,
        # so that a run that adds nothing leaves the file as it was.
        if added or "PO-Revision-Date" not in catalogue.metadata:
            catalogue.metadata["PO-Revision-Date"] = timezone.now().strftime("%Y-%m-%d %H:%M%z")
        catalogue.save(str(po_path))
        untranslated = len(catalogue.untranslated_entries())
        self.stdout.write(f"{po_path}: {added} library messages, {untranslated} untranslated")

    def _library_entries(
        self, po_path: Path, sources: tuple[str, ...], label: str
    ) -> list[polib.POEntry]:
        entries = []
        for entry in polib.pofile(str(po_path)):
            # From the start of the path: "account/models.py" is not
            # "socialaccount/models.py", an app we do not run.
            if entry.obsolete or not any(
                path.startswith(src) for path, _line in entry.occurrences for src in sources
            ):
                continue
            entries.append(self._copy(entry, label, translated_from=None))
        return entries

    def _copy(
        self, entry: polib.POEntry, label: str, translated_from: polib.POEntry | None
    ) -> polib.POEntry:
        copy = polib.POEntry(
            msgid=entry.msgid,
            msgid_plural=entry.msgid_plural,
            msgctxt=entry.msgctxt,
            msgstr="",
            msgstr_plural={0: ""} if entry.msgid_plural else {},
            comment=f"{EXTERNAL_MARK} {label}",
            flags=[f for f in entry.flags if f != "fuzzy"],
        )
        if translated_from is not None and translated_from.translated():
            copy.msgstr = translated_from.msgstr
            if entry.msgid_plural:
                copy.msgstr_plural = {0: translated_from.msgstr_plural.get(0, "")}
        return copy

    def _django(self) -> list[polib.POEntry]:
        locale = SITE_PACKAGES / "django" / "conf" / "locale"
        return self._untranslated_by_django(locale, "django.po", DJANGO_SOURCES, "django")

    def _django_contrib(self) -> list[polib.POEntry]:
        entries = []
        for app, sources in DJANGO_CONTRIB_SOURCES.items():
            locale = SITE_PACKAGES / "django" / "contrib" / app / "locale"
            entries += self._untranslated_by_django(locale, "django.po", sources, f"django.{app}")
        return entries

    def _django_javascript(self) -> list[polib.POEntry]:
        locale = SITE_PACKAGES / "django" / "contrib" / "admin" / "locale"
        return self._untranslated_by_django(
            locale, "djangojs.po", DJANGO_JAVASCRIPT_SOURCES, "django.admin (JavaScript)"
        )

    def _untranslated_by_django(
        self, locale: Path, filename: str, sources: tuple[str, ...], label: str
    ) -> list[polib.POEntry]:
        """The English catalogue's messages from `sources` that Django's km
        catalogue leaves untranslated."""
        english = polib.pofile(str(locale / "en" / "LC_MESSAGES" / filename))
        khmer = polib.pofile(str(locale / "km" / "LC_MESSAGES" / filename))
        translated = {(e.msgctxt, e.msgid) for e in khmer if e.translated()}
        return [
            self._copy(entry, label, translated_from=None)
            for entry in english
            if (entry.msgctxt, entry.msgid) not in translated
            and any(src in path for path, _line in entry.occurrences for src in sources)
        ]

    def _phonenumber(self) -> list[polib.POEntry]:
        po = SITE_PACKAGES / "phonenumber_field" / "locale" / "fr" / "LC_MESSAGES" / "django.po"
        return [
            self._copy(e, "phonenumber_field", None)
            for e in polib.pofile(str(po))
            if not e.obsolete
        ]

    def _allauth(self) -> list[polib.POEntry]:
        po = SITE_PACKAGES / "allauth" / "locale" / "fr" / "LC_MESSAGES" / "django.po"
        return self._library_entries(po, ALLAUTH_SOURCES, "allauth")

    def _countries(self) -> list[polib.POEntry]:
        """Country names in Khmer from CLDR (through Babel, a dev dependency)."""
        from babel import Locale
        from django_countries import data

        khmer = Locale("km").territories
        entries = []
        with translation.override(None):
            for code, name in data.COUNTRIES.items():
                entries.append(
                    polib.POEntry(
                        msgid=str(name),
                        msgstr=khmer.get(code, ""),
                        comment=f"{EXTERNAL_MARK} django_countries (Khmer from CLDR: {code})",
                    )
                )
        return entries
