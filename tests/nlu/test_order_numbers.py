"""Order numbers in free text (plugins.order_numbers): every way shoppers write them, and the
numbers that are not order numbers. Table-driven; the second table is every order-id span of the
Bitext train split sample in data/nlu/corpus/bitext.yml."""
from __future__ import annotations

from pathlib import Path

import pytest

from plugins.order_numbers import find_order_numbers

PROJECT = Path(__file__).resolve().parents[2]

# (text, expected values in order)
CASES = [
    # plain digits, 3-20, leading zeros kept
    ("1001", ["1001"]),
    ("123", ["123"]),
    ("00123842", ["00123842"]),
    ("0009921", ["0009921"]),
    ("113542617735902", ["113542617735902"]),
    ("12345678901234567890", ["12345678901234567890"]),
    ("123456789012345678901", []),  # 21 digits
    ("12", []),
    ("7", []),
    ("where is 1001", ["1001"]),
    ("1001?", ["1001"]),
    ("1001!!", ["1001"]),
    ("(1001)", ["1001"]),
    ("\"1001\"", ["1001"]),
    ("'1001'", ["1001"]),
    ("1001.", ["1001"]),
    ("1001, thanks", ["1001"]),
    ("1001 🙂", ["1001"]),
    ("📦1001", ["1001"]),
    ("1001\n", ["1001"]),
    ("  1001  ", ["1001"]),
    # hash, No., Nr, №
    ("#1001", ["1001"]),
    ("# 1001", ["1001"]),
    ("order #1001", ["1001"]),
    ("order#1001", ["1001"]),
    ("No. 1001", ["1001"]),
    ("no 1001", ["1001"]),
    ("order no. 1001", ["1001"]),
    ("order no.1001", ["1001"]),
    ("Order Nr. 1001", ["1001"]),
    ("nr 1001", ["1001"]),
    ("№1001", ["1001"]),
    ("№ 1001", ["1001"]),
    ("order number: 00125666", ["00125666"]),
    ("ORDER NUMBER 1001", ["1001"]),
    ("the order # is 20044", ["20044"]),
    ("##1001", ["1001"]),
    # letter prefixes
    ("WC-5521", ["WC-5521"]),
    ("wc-5521", ["wc-5521"]),
    ("EU1001", ["EU1001"]),
    ("eu1001", ["eu1001"]),
    ("#WC-5521", ["WC-5521"]),
    ("order A-12345", ["A-12345"]),
    ("SHOP-000123", ["SHOP-000123"]),
    ("its WC-9930 thx", ["WC-9930"]),
    ("track UK123456 please", ["UK123456"]),
    ("cancel #EU1001 and #EU1002", ["EU1001", "EU1002"]),
    ("WC-55", []),
    ("ABCDE-5521", []),  # 5 letters is a word, not a prefix
    # dashed and spaced groups
    ("1234-5678", ["1234-5678"]),
    ("order 1234-5678-9012", ["1234-5678-9012"]),
    ("123 456 789", ["123 456 789"]),
    ("order 1001 2345", ["1001 2345"]),
    ("ref 0012-3384", ["0012-3384"]),
    ("order 1001 2 items", ["1001"]),
    ("1001 1002", ["1001 1002"]),
    ("1001 and 1002", ["1001", "1002"]),
    ("1001/1002", []),
    # next to order words, with typos
    ("order 1001", ["1001"]),
    ("ordr 1001", ["1001"]),
    ("oder 1001 where", ["1001"]),
    ("purchase 00123842", ["00123842"]),
    ("purchse 00123842", ["00123842"]),
    ("ref 4421", ["4421"]),
    ("ref: 4421", ["4421"]),
    ("reference number 88231", ["88231"]),
    ("confirmation 100877", ["100877"]),
    ("confirmation number is 100877", ["100877"]),
    ("conf # 100877", ["100877"]),
    ("order id 88123", ["88123"]),
    ("order-id: 88123", ["88123"]),
    ("transaction 7788123", ["7788123"]),
    ("i have got to upate purchase 113542617735902", ["113542617735902"]),
    ("I forgot to include several items in purchase 00123842", ["00123842"]),
    ("remove something from order 113542617735902", ["113542617735902"]),
    ("wheres my ordr #1001???", ["1001"]),
    ("WHERE IS ORDER 1001", ["1001"]),
    ("whre is ma ordr 1001 plz", ["1001"]),
    ("order1001", ["1001"]),
    ("purchase00123842", ["00123842"]),
    ("abc1001x", []),
    ("its 1004", ["1004"]),
    ("sure, 1013", ["1013"]),
    ("no wait its 1028", ["1028"]),
    ("oops I mean 1003", ["1003"]),
    ("where is order #1002", ["1002"]),
    ("order #1002 and #1003", ["1002", "1003"]),
    ("has 00123842 shipped", ["00123842"]),
    ("can u check 00127731 for me", ["00127731"]),
    ("status of 1001 pls 🙏", ["1001"]),
    ("cancel 1001 NOW", ["1001"]),
    ("1001 where the hell is it", ["1001"]),
    # together with emails and postcodes
    ("order 1006, email max@example.net", ["1006"]),
    ("1032 lisa@mail.com", ["1032"]),
    ("order 1035 zip 73301", ["1035"]),
    ("order 1002 zip code is 10115", ["1002"]),
    ("zip is 33101 and order is 7790", ["7790"]),
    ("1037 and postcode W1A 0AX", ["1037"]),
    ("order number 00128877 postcode BS1 5TR", ["00128877"]),
    ("track WC-5521 for Jane.Doe@Example.COM", ["WC-5521"]),
    ("call me about order 1001", ["1001"]),
    ("phone about order number 5510", ["5510"]),
    # emails
    ("jane1001@example.com", []),
    ("1001@example.com", []),
    ("my email is j.smith2001@mail.com", []),
    ("sam@shop1001.co.uk", []),
    ("a@b1234.com", []),
    ("user+1001@gmail.com", []),
    # phone numbers
    ("call me on 555-123-4567", []),
    ("my phone is 07700900123", []),
    ("phone: 07700 900123", []),
    ("+44 7700 900123", []),
    ("+1 555 123 4567", []),
    ("(020) 7946 0958", []),
    ("555 123 4567", []),
    ("tel 0161 496 0000", []),
    ("my number is 555-1234", []),
    ("text me at 5551234567", []),
    ("mobile 0412 345 678", []),
    ("whatsapp +4915112345678", []),
    ("call 0800 123 456", []),
    ("ring me on 01632 960123", []),
    ("06 12 34 56 78", []),
    # dates and times
    ("ordered on 2024-03-05", []),
    ("05/03/2024", []),
    ("5/3/24", []),
    ("12.03.2024", []),
    ("march 2024", []),
    ("in march 2024", []),
    ("on 15 march 2024", []),
    ("since jan 2023", []),
    ("ordered in 2023", []),
    ("at 10:30", []),
    ("10:30am", []),
    ("bought it on 03-05-2024", []),
    ("dec 25, 2023", []),
    ("3rd of may", []),
    ("the 21st", []),
    # prices
    ("$120.50", []),
    ("£40", []),
    ("€1200", []),
    ("$ 1200", []),
    ("120.50", []),
    ("i paid 1200 dollars", []),
    ("1200 euros", []),
    ("1200 EUR", []),
    ("USD 1200", []),
    ("it cost 300 quid", []),
    ("1,200", []),
    ("1.200,50", []),
    ("i paid $120.50 for 2 shirts", []),
    ("refund 249.99", []),
    # percentages and quantities
    ("25%", []),
    ("150 %", []),
    ("150 percent off", []),
    ("500 units", []),
    ("300g of coffee", []),
    ("300 g", []),
    ("1000 pcs", []),
    ("200 items", []),
    ("100 pairs", []),
    ("2000 ml", []),
    ("500 kg", []),
    ("120 cm", []),
    ("waited 100 days", []),
    ("1500 mAh battery", []),
    ("x 300", []),
    ("500 x", []),
    # postcodes
    ("zip 90210", []),
    ("zip: 90210", []),
    ("zip code is 10115", []),
    ("zipcode 30301", []),
    ("postcode 10115", []),
    ("post code: 10115", []),
    ("postal code 75001", []),
    ("my zip is 60614", []),
    ("90210-1234", []),
    ("PLZ 10115", []),
    ("SW1A 1AA", []),
    ("K1A 0B1", []),
    # versions, decimals, ratios, URLs
    ("version 3.10.2", []),
    ("1.5", []),
    ("16:9", []),
    ("https://shop.example/orders/1001", []),
    ("3.14159", []),
    ("covid19", []),
    ("mp3", []),
    ("iphone 15", []),
    ("size 10", []),
    ("size 1001", []),
    ("qty 250", []),
    ("2 shirts", []),
    # bare numbers with no context stay order numbers (the form decides)
    ("90210", ["90210"]),
    ("07700900123", ["07700900123"]),
    ("order 07700900123", ["07700900123"]),
    ("1600 pennsylvania ave", ["1600"]),  # house number: documented limit
]


@pytest.mark.parametrize("text, expected", CASES, ids=[c[0][:40] for c in CASES])
def test_order_number_table(text, expected):
    spans = find_order_numbers(text)
    assert [s.value for s in spans] == expected
    for s in spans:
        assert text[s.start:s.end] == s.value
        assert not s.value.startswith("#")


def bitext_spans():
    """(text, [value]) for every annotated order number in the generated Bitext file."""
    import re

    import yaml

    data = yaml.safe_load((PROJECT / "data" / "nlu" / "corpus" / "bitext.yml").read_text())
    out = []
    for block in data["nlu"]:
        for ex in block.get("examples") or []:
            annotated = ex["text"]
            if "(order_number)" in annotated:
                values = re.findall(r"\[([^\]]+)\]\(order_number\)", annotated)
                text = re.sub(r"\[([^\]]+)\]\([a-z_]+\)", r"\1", annotated)
                out.append((text, values))
    return out


BITEXT = bitext_spans()


def test_bitext_spans_are_many():
    assert len(BITEXT) >= 200


@pytest.mark.parametrize("text, expected", BITEXT, ids=[c[0][:50] for c in BITEXT])
def test_bitext_order_id_spans(text, expected):
    assert [s.value for s in find_order_numbers(text)] == expected


def test_total_cases_at_least_200():
    assert len(CASES) + len(BITEXT) >= 200 and len(CASES) >= 150


def test_bad_input():
    for text in ("", None, 1001, "#", "##########", "1" * 5000, "\x00\x01", "😀"):
        assert isinstance(find_order_numbers(text), list)
