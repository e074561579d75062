"""RSS 2.0 and Atom feeds of published statements, in the page's language."""

from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.feedgenerator import Atom1Feed, Enclosure, Rss201rev2Feed, SyndicationFeed
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from core.markup import render_markdown
from statements import pdf
from statements.models import Statement

FEED_SIZE = 30


class StatementsRssFeed(Feed):
    feed_type: type[SyndicationFeed] = Rss201rev2Feed

    def get_object(self, request: HttpRequest, campaign: str | None = None) -> Campaign | None:
        self.language = (get_language() or settings.LANGUAGE_CODE)[:2]
        self.request_path = request.path
        if campaign is None:
            return None
        return get_object_or_404(Campaign.objects.public(), slug=campaign)

    def title(self, obj: Campaign | None) -> str:
        if obj is None:
            return _("CEROC statements")
        return _("CEROC statements: %(campaign)s") % {"campaign": obj.text("title", self.language)}

    def link(self, obj: Campaign | None) -> str:
        url = reverse("statements:list")
        return f"{url}?campaign={obj.slug}" if obj else url

    def feed_url(self, obj: Campaign | None) -> str:
        return self.request_path

    def description(self, obj: Campaign | None) -> str:
        return _(
            "Press releases and public statements of the Committee for the Election Rights of Overseas Cambodians."
        )

    subtitle = description

    def author_name(self) -> str:
        return "CEROC"

    def items(self, obj: Campaign | None) -> Any:
        statements = Statement.objects.published()
        if obj is not None:
            statements = statements.filter(campaigns=obj)
        return statements.order_by("-published_at", "-id")[:FEED_SIZE]

    def item_title(self, item: Statement) -> str:
        return item.text("title", self.language).text

    def item_description(self, item: Statement) -> str:
        summary = item.text("summary", self.language).text
        body = item.text("body", self.language).text
        return str(render_markdown(summary or body))

    def item_link(self, item: Statement) -> str:
        return item.get_absolute_url()

    def item_guid(self, item: Statement) -> str:
        return f"{settings.SITE_URL}{item.get_absolute_url()}"

    item_guid_is_permalink = True

    def item_pubdate(self, item: Statement) -> datetime:
        return item.published_at or timezone.make_aware(datetime.combine(item.date, time()))

    def item_updateddate(self, item: Statement) -> datetime:
        return item.revised_at or self.item_pubdate(item)

    def item_author_name(self, item: Statement) -> str:
        signatory = item.signatories.first()
        return signatory.text("name", self.language).text if signatory else "CEROC"

    def item_categories(self, item: Statement) -> list[str]:
        return [str(item.get_kind_display())]

    def item_enclosures(self, item: Statement) -> list[Enclosure]:
        """The statement's PDF in the feed's language (RSS <enclosure>, Atom
        link rel="enclosure"). RSS requires the length: it is the size of the
        stored file that URL serves, read from storage; a statement without a
        stored PDF (not rendered yet) has no enclosure rather than a wrong one."""
        language = self.language or settings.LANGUAGE_CODE
        size = pdf.language_file_size(item, language)
        if size is None:
            return []
        with translation.override(language):
            path = reverse("statements:pdf", kwargs={"slug": item.slug})
        return [Enclosure(f"{settings.SITE_URL}{path}", str(size), "application/pdf")]


class StatementsAtomFeed(StatementsRssFeed):
    feed_type = Atom1Feed
