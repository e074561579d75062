"""Cambodia's 25 provinces and capital, as a signer's province of origin.

The stored value is the ASCII code (stable if a spelling changes); labels are
shown in the reader's language. Names follow the official Khmer spelling.
"""

from django.utils.translation import get_language

PROVINCES: list[tuple[str, str, str]] = [
    # (code, Khmer, English)
    ("phnom-penh", "រាជធានីភ្នំពេញ", "Phnom Penh"),
    ("banteay-meanchey", "បន្ទាយមានជ័យ", "Banteay Meanchey"),
    ("battambang", "បាត់ដំបង", "Battambang"),
    ("kampong-cham", "កំពង់ចាម", "Kampong Cham"),
    ("kampong-chhnang", "កំពង់ឆ្នាំង", "Kampong Chhnang"),
    ("kampong-speu", "កំពង់ស្ពឺ", "Kampong Speu"),
    ("kampong-thom", "កំពង់ធំ", "Kampong Thom"),
    ("kampot", "កំពត", "Kampot"),
    ("kandal", "កណ្ដាល", "Kandal"),
    ("kep", "កែប", "Kep"),
    ("koh-kong", "កោះកុង", "Koh Kong"),
    ("kratie", "ក្រចេះ", "Kratie"),
    ("mondulkiri", "មណ្ឌលគិរី", "Mondulkiri"),
    ("oddar-meanchey", "ឧត្ដរមានជ័យ", "Oddar Meanchey"),
    ("pailin", "ប៉ៃលិន", "Pailin"),
    ("preah-sihanouk", "ព្រះសីហនុ", "Preah Sihanouk"),
    ("preah-vihear", "ព្រះវិហារ", "Preah Vihear"),
    ("prey-veng", "ព្រៃវែង", "Prey Veng"),
    ("pursat", "ពោធិ៍សាត់", "Pursat"),
    ("ratanakiri", "រតនគិរី", "Ratanakiri"),
    ("siem-reap", "សៀមរាប", "Siem Reap"),
    ("stung-treng", "ស្ទឹងត្រែង", "Stung Treng"),
    ("svay-rieng", "ស្វាយរៀង", "Svay Rieng"),
    ("takeo", "តាកែវ", "Takeo"),
    ("tbong-khmum", "ត្បូងឃ្មុំ", "Tbong Khmum"),
]

PROVINCE_CODES = frozenset(code for code, _km, _en in PROVINCES)


def province_name(code: str, language: str | None = None) -> str:
    wanted = (language or get_language() or "km")[:2]
    for province_code, khmer, english in PROVINCES:
        if province_code == code:
            return khmer if wanted == "km" else english
    return code


def province_choices(language: str | None = None) -> list[tuple[str, str]]:
    wanted = (language or get_language() or "km")[:2]
    return [(code, khmer if wanted == "km" else english) for code, khmer, english in PROVINCES]
