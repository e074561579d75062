"""The committee's real 2014 petition, from its own press releases (shared/seeds)."""

from datetime import UTC, datetime

from campaigns.models import Campaign, Question

SLUG = "right-to-vote-overseas"

TEXT_EN = """\
To collect as many signatures as we can to demand our unalienable right, as
Cambodian citizens, to vote in the national elections of Cambodia, the
Commission for Election Rights of Overseas Cambodians (CEROC) officially
launched on 9 March 2014 a petition campaign for **the right to vote** in
Cambodia's national elections for Cambodians overseas.

Our petition campaign aims to achieve these key goals:

1. To collaborate with all stakeholders to ensure that no Cambodian citizen is
   marginalized from fully exercising their rights to engage in and develop the
   social, economic and political life of Cambodia.
2. To help strengthen the implementation of the Constitution of Cambodia and of
   the United Nations' Universal Declaration of Human Rights in Cambodia.
3. To ask the National Election Committee (NEC) to facilitate and make it easy
   for all Cambodians overseas to register and to vote.

We inform all stakeholders, particularly the United Nations, the CNRP, the CPP,
ERA and the media, of this petition. Thank you very much for your support.

*Sophan Seng, Campaign Team Leader*
"""

# One line per paragraph: Khmer has no spaces between words, and a line break
# inside a Markdown paragraph would show as one.
TEXT_KM = """\
ដើម្បីប្រមូលញត្តិឱ្យបានច្រើនបំផុត ទាមទារសិទ្ធិដែលមិនអាចដកហូតបាន របស់យើងជាពលរដ្ឋខ្មែរ ក្នុងការបោះឆ្នោតនៅក្នុងការបោះឆ្នោតជាតិនៃប្រទេសកម្ពុជា គណៈកម្មការដើម្បីសិទ្ធិបោះឆ្នោតពលរដ្ឋខ្មែរនៅក្រៅប្រទេស បានដាក់ចេញជាផ្លូវការនៅថ្ងៃទី៩ ខែមីនា ឆ្នាំ២០១៤ នូវយុទ្ធនាការញត្តិទាមទារ **សិទ្ធិបោះឆ្នោត** សម្រាប់ពលរដ្ឋខ្មែរនៅក្រៅប្រទេស។

យុទ្ធនាការញត្តិនេះមានគោលដៅសំខាន់ៗដូចតទៅ៖

1. សហការជាមួយភាគីពាក់ព័ន្ធទាំងអស់ ដើម្បីធានាថាគ្មានពលរដ្ឋខ្មែរណាម្នាក់ត្រូវបានគេទុកចោល ក្នុងការប្រើប្រាស់សិទ្ធិរបស់ខ្លួនយ៉ាងពេញលេញ ក្នុងការចូលរួមអភិវឌ្ឍសង្គម សេដ្ឋកិច្ច និងនយោបាយនៅកម្ពុជា។
2. ជួយពង្រឹងការអនុវត្តរដ្ឋធម្មនុញ្ញនៃព្រះរាជាណាចក្រកម្ពុជា និងសេចក្តីប្រកាសជាសកលស្តីពីសិទ្ធិមនុស្សរបស់អង្គការសហប្រជាជាតិនៅកម្ពុជា។
3. ទាមទារឱ្យ គ.ជ.ប ជួយសម្រួល និងបង្កភាពងាយស្រួលដល់ប្រជាពលរដ្ឋខ្មែរនៅក្រៅប្រទេស ឱ្យបានចុះឈ្មោះ និងបោះឆ្នោតទាំងអស់គ្នា។

យើងសូមជម្រាបជូនដល់ភាគីពាក់ព័ន្ធទាំងអស់ ជាពិសេសអង្គការសហប្រជាជាតិ គណបក្សសង្គ្រោះជាតិ គណបក្សប្រជាជនកម្ពុជា ERA និងប្រព័ន្ធផ្សព្វផ្សាយ អំពីញត្តិនេះ។ សូមអរគុណយ៉ាងជ្រាលជ្រៅចំពោះការគាំទ្ររបស់អ្នក។

*សេង សុភ័ណ ប្រធានក្រុមយុទ្ធនាការ*
"""


def load_campaign() -> Campaign:
    campaign, _created = Campaign.objects.update_or_create(
        slug=SLUG,
        defaults={
            "status": Campaign.Status.OPEN,
            "opens_at": datetime(2014, 3, 9, tzinfo=UTC),
            "closes_at": None,
            "title_km": "ញត្តិទាមទារសិទ្ធិបោះឆ្នោតសម្រាប់ពលរដ្ឋខ្មែរនៅក្រៅប្រទេស",
            "title_en": "The right to vote for Cambodians overseas",
            "summary_km": "សូមចុះហត្ថលេខាលើញត្តិនេះ ដើម្បីទាមទារឱ្យពលរដ្ឋខ្មែរនៅក្រៅប្រទេសអាចចុះឈ្មោះ និងបោះឆ្នោតក្នុងការបោះឆ្នោតជាតិនៃប្រទេសកម្ពុជា។",
            "summary_en": "Sign this petition to demand that Cambodians living overseas can register and vote in Cambodia's national elections.",
            "body_km": TEXT_KM,
            "body_en": TEXT_EN,
            "target_km": "គណៈកម្មាធិការជាតិរៀបចំការបោះឆ្នោត (គ.ជ.ប)",
            "target_en": "The National Election Committee (NEC)",
            "share_text_km": "ខ្ញុំបានចុះហត្ថលេខាលើញត្តិទាមទារសិទ្ធិបោះឆ្នោតសម្រាប់ពលរដ្ឋខ្មែរនៅក្រៅប្រទេស។ សូមចូលរួមផង!",
            "share_text_en": "I signed the petition for the right of overseas Cambodians to vote. Please sign too!",
            "goal_milestones": [1000, 5000, 10000, 25000, 50000, 100000],
            "ask_phone": True,
            "ask_city": True,
            "ask_province": True,
        },
    )
    Question.objects.update_or_create(
        campaign=campaign,
        key="registered-to-vote",
        defaults={
            "kind": Question.Kind.YES_NO,
            "label_km": "តើអ្នកបានចុះឈ្មោះបោះឆ្នោតនៅកម្ពុជាហើយឬនៅ?",
            "label_en": "Are you registered to vote in Cambodia?",
            "required": False,
            "position": 1,
        },
    )
    return campaign
