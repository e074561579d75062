"""The committee's own statements, from its press releases (shared/seeds).

The texts are kept as the seed has them, including its cuts ("…" where the
seed's excerpt stops) and its spellings; where the seed has only one
language for a statement, the statement stays single-language and the page
says so. Safe to run twice: rows are updated by slug.
"""

from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from statements.models import Signatory, Statement, Transition
from statements.services import pdf_render_queue

SIGNATORY = {
    "name_km": "សេង សុភ័ណ",
    "name_en": "Sophan Seng",
    "role_km": "ប្រធានក្រុមយុទ្ធនាការ",
    "role_en": "Campaign Team Leader",
    "contact": "Tel: (403) 455-8294",
}

STATEMENTS: list[dict[str, Any]] = [
    {
        "slug": "press-release-voter-registration-2013-09-01",
        "kind": Statement.Kind.PRESS_RELEASE,
        "date": date(2013, 9, 1),
        "title_en": "Press Release to Appeal for Inclusiveness of Voters Registration in Cambodia",
        "title_km": "សេចក្តីប្រកាសព័ត៌មាន ស្តីពីការចុះឈ្មោះអ្នកបោះឆ្នោត",
        "summary_en": "The first day of voter registration on a new computerised voter list, and the CEROC's concerns.",
        "summary_km": "",
        "body_km": (
            "ថ្ងៃទី១ខែកញ្ញានេះជាថ្ងៃដំបូងនៃការចុះឈ្មោះអ្នកបោះឆ្នោតដោយដាក់បញ្ចូលទៅក្នុង "
            "ប្រព័ន្ធបច្ចេកទេសកំព្យូទ័រសំរាប់បញ្ជីអ្នកបោះឆ្នោតថ្មី ប៉ុន្តែអង្គការដឺស៊ីរ៉ក់នៅតែ៖\n\n"
            "- បារម្មណ៍ពីអសមធម៌នៃការបង្កើតឈ្មោះក្នុងបញ្ជីថ្មី\n"
            "- ការដាក់បន្ទុកធ្ងន់ពីសំណាក់រដ្ឋាភិបាលទៅលើគ…\n"
        ),
        "body_en": (
            "This first of September is the first day of voters registration by establishing "
            "new voter list through new technology of computer database, but The CEROC has "
            "remained:\n\n"
            "1. Worry on inclusiveness of this new voter list creation\n"
            "2. Political influence of government over the National Election Committees (NEC)\n"
        ),
    },
    {
        "slug": "public-statement-encourage-registration-2013",
        "kind": Statement.Kind.PUBLIC_STATEMENT,
        "date": date(2013, 9, 1),
        "title_en": "Public statement: register to vote",
        "title_km": "សេចក្តីថ្លែងការណ៍ជាសាធារណៈ",
        "summary_en": "The CEROC encourages all overseas Cambodians to register to vote.",
        "summary_km": "គណៈកម្មការលើកទឹកចិត្តប្រជាពលរដ្ឋខ្មែរនៅក្រៅប្រទេសទាំងអស់ឱ្យទៅចុះឈ្មោះបោះឆ្នោត។",
        "body_km": (
            "ក្នុងខណៈពេលដែលថ្ងៃចុះឈ្មោះបោះឆ្នោតកាន់តែខិតជិតមកដល់ "
            "គណៈកម្មការដើម្បីសិទ្ធិបោះឆ្នោតពលរដ្ឋខ្មែរនៅក្រៅប្រទេសបានចេញសេចក្តីថ្លែងការណ៌នេះជាសាធារណៈ "
            "ដោយមានគោលបំណងដូចតទៅ៖\n\n"
            "- ដើម្បីលើកទឹកចិត្តដល់ប្រជាពលរដ្ឋខ្មែរដែលកំពុងរស់នៅក្រៅប្រទេសទាំងអស់នាំគ្នាទៅចុះឈ្មោះអោយបានច្រើនបំផុតទាំងអស់គ្នា\n"
            "- គណៈកម្មការនៅតែទាមទារអោយគជបជួយសំរួលនិងបង្កភាពងាយស្រួលដល់ប្រជាពលរដ្ឋខ្មែរនៅក្រៅប្រទេសអោយបានបោះឆ្នោតទាំងអស់គ្នា\n"
        ),
        "body_en": (
            "As voters registration day is looming, Committee for Elections Rights of Overseas "
            "Cambodians (the CEROC) issued this public statement with following objectives:\n\n"
            "- Encourage all overseas Cambodians to register to vote altogether\n"
            "- The CEROC has maintained its status to inquire NEC to facilitate and make it easy "
            "for all Cambodians overseas to register to vote.\n\n"
            "Detailed information, please see attached file.\n\n"
            "Thank you very much,\n"
        ),
    },
    {
        "slug": "press-release-petition-2014-03-16",
        "kind": Statement.Kind.PRESS_RELEASE,
        "date": date(2014, 3, 16),
        "title_en": "Press Release on 16 March 2014",
        "title_km": "",
        "summary_en": "The CEROC launches a petition for the right of Cambodians overseas to vote.",
        "summary_km": "",
        "body_km": "",
        "body_en": (
            "Commission for Election Rights of Overseas Cambodians (CEROC) is honored to inform "
            "all stakeholders particularly the United Nations, CNRP, CPP, ERA and Medias that "
            "on Ma…\n\n"
            "To collect petition as much as we can to demand our unalienable rights as Cambodian "
            "citizens to vote in the national elections of Cambodia on March 9th, 2014, we have "
            "officially launched a petition campaign to demand “the rights to vote” in the "
            "Cambodia national elections for Cambodians Overseas. Our commitment of this "
            "petition campaign aims to achieve the following key goals:\n\n"
            "1. To collaborate with all stakeholders to ensure that no Cambodian citizen has been "
            "marginalized from fully exercising their rights to engage and develop social, "
            "economic, and politics in Cambodia.\n"
            "2. To help strengthen the implementation of the Cambodia National Constitution and "
            "the Universal Declaration of Human Rights of the United Nations in Cambodia.\n"
            "3. To carry out all three goals mentioned above.\n\n"
            "Thank you very much for your concerns;\n"
        ),
    },
]


def load_statements(*, campaign: Campaign | None = None) -> int:
    """Create or update the demo statements, published, with their PDFs queued."""
    count = 0
    with transaction.atomic():
        for data in STATEMENTS:
            values = {key: value for key, value in data.items() if key != "slug"}
            published_at = timezone.make_aware(datetime.combine(data["date"], datetime.min.time()))
            statement, created = Statement.objects.update_or_create(
                slug=data["slug"],
                defaults={
                    **values,
                    "status": Statement.Status.PUBLISHED,
                    "published_at": published_at,
                },
            )
            if created:
                Transition.objects.create(
                    statement=statement,
                    action=Transition.Action.PUBLISH,
                    from_status=Statement.Status.IN_REVIEW,
                    to_status=Statement.Status.PUBLISHED,
                    comment="Demo data (load_demo)",
                )
            Signatory.objects.update_or_create(statement=statement, position=0, defaults=SIGNATORY)
            if campaign is not None and data["date"].year >= 2014:
                statement.campaigns.add(campaign)
            pdf_render_queue(statement=statement)
            count += 1
    return count
