"""The country list of the signing form: where most overseas Cambodians live
first, then every country in the order of the page's language."""

import re
import unicodedata
from html import unescape

import pytest
from django.test import Client

from signatures.countries import khmer_sort_key
from signatures.models import Signature
from tests.signatures.conftest import sign

KHMER = re.compile(r"[\u1780-\u17ff]")
OPTGROUP = re.compile(r'<optgroup label="([^"]*)">(.*?)</optgroup>', re.S)
OPTION = re.compile(r'<option value="([^"]*)"( selected)?>([^<]*)</option>')
FIRST_CODES = ["US", "FR", "AU", "CA", "NZ", "KR", "TH", "JP", "MY", "GB", "DE", "VN", "LA"]


def _groups(page: str) -> dict[str, list[tuple[str, str]]]:
    select = page[
        page.index('<select name="country"') : page.index(
            "</select>", page.index('<select name="country"')
        )
    ]
    return {
        unescape(label): [(code, unescape(name)) for code, _selected, name in OPTION.findall(body)]
        for label, body in OPTGROUP.findall(select)
    }


def _country_groups(client: Client, campaign, lang: str) -> list[list[tuple[str, str]]]:
    page = client.get(f"/{lang}/campaigns/{campaign.slug}/").content.decode()
    groups = _groups(page)
    assert len(groups) == 2, groups.keys()
    return list(groups.values())


def test_on_the_khmer_page_the_countries_where_most_cambodians_live_come_first(
    client: Client, campaign
) -> None:
    page = client.get(f"/km/campaigns/{campaign.slug}/").content.decode()
    assert list(_groups(page)) == ["ប្រទេសដែលមានពលរដ្ឋខ្មែររស់នៅច្រើនជាងគេ", "ប្រទេសទាំងអស់"]
    first, _everything = _country_groups(client, campaign, "km")
    assert [code for code, _name in first] == FIRST_CODES
    assert dict(first)["US"] == "សហរដ្ឋអាមេរិក" and dict(first)["FR"] == "បារាំង"


def test_every_country_listed_first_has_a_khmer_name(client: Client, campaign) -> None:
    first, _everything = _country_groups(client, campaign, "km")
    assert [code for code, name in first if not KHMER.search(name)] == []


def test_the_khmer_list_of_all_countries_is_in_khmer_alphabetical_order(
    client: Client, campaign
) -> None:
    _first, everything = _country_groups(client, campaign, "km")
    names = [name for _code, name in everything]
    assert len(names) > 240 and all(KHMER.search(name) for name in names)
    assert names == sorted(names, key=khmer_sort_key)
    # កម្ពុជា starts with the alphabet's first letter; អូស្ត្រាលី with its last.
    assert everything[0] == ("KH", "កម្ពុជា")
    position = {code: index for index, (code, _name) in enumerate(everything)}
    assert position["KH"] < position["JP"] < position["TH"] < position["FR"]
    assert position["FR"] < position["VN"] < position["US"] < position["AU"]


def test_the_english_list_of_all_countries_stays_alphabetical(client: Client, campaign) -> None:
    first, everything = _country_groups(client, campaign, "en")
    assert [code for code, _name in first] == FIRST_CODES
    names = [name for _code, name in everything]
    assert names[:3] == ["Afghanistan", "Åland Islands", "Albania"]

    def folded(name: str) -> str:
        return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()

    assert names == sorted(names, key=folded)


@pytest.mark.parametrize(
    "words",
    [
        # Chuon Nath's order: a consonant alone, then with a consonant after
        # it, then with each vowel in the alphabet's order, then its clusters.
        ["ក", "កក", "កង", "ករ", "កា", "កាល", "កិច្ច", "កុមារ", "កូន", "កើត", "កែវ", "កៅអី", "កោះ"],
        ["កោះ", "ក្បាល", "ក្រុង", "ខ្មែរ", "គោ", "ឃ្លាំង", "ចាន", "ជប៉ុន", "ថៃ", "បារាំង"],
        ["បារាំង", "ភ្នំពេញ", "រៀន", "ឫស្សី", "លក់", "ឮ", "វៀតណាម", "សៀវភៅ", "ឡាវ", "អាមេរិក"],
        # Vowels written with REAHMUK come after ៅ; register signs only break
        # ties; an independent vowel follows អ with the same vowel;
        # zero-width word breaks are ignored.
        ["មា", "ម៉ា", "មាន"],
        ["អិត", "ឥត", "អី"],
        ["កោះកូកូស", "កោះ\u200bខូក"],
    ],
)
def test_the_khmer_key_sorts_words_in_dictionary_order(words: list[str]) -> None:
    assert sorted(reversed(words), key=khmer_sort_key) == words


def test_a_country_from_either_group_is_stored_by_its_code(client: Client, campaign) -> None:
    assert sign(client, campaign, lang="km", country="US").status_code == 302
    assert Signature.objects.get().country == "US"


def test_a_group_label_is_not_a_country(client: Client, campaign) -> None:
    label = list(_groups(client.get(f"/km/campaigns/{campaign.slug}/").content.decode()))[1]
    response = sign(client, campaign, lang="km", country=label)
    assert response.status_code == 400  # the form again, with its errors
    assert "សូមជ្រើសរើសប្រទេសពីក្នុងបញ្ជី។" in response.content.decode()
    assert Signature.objects.count() == 0


def test_a_country_listed_twice_is_selected_once_when_the_form_comes_back(
    client: Client, campaign
) -> None:
    page = sign(client, campaign, lang="km", country="US", consent=None).content.decode()
    selected = [code for code, chosen, _name in OPTION.findall(page) if chosen]
    assert selected == ["US"]
