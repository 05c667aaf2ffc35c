"""The counterpart gazetteer: who a paragraph names, and the false friends it must not take.

Every sentence here is made up for the test (no corpus text).
"""
from __future__ import annotations

import json

import pytest

from vistance.analysis.counterparts import Gazetteer, default_gazetteer, detect_counterparts
from vistance.errors import VistanceError

NAMED = [
    # plain names, capitals, leaders
    ("Bộ trưởng Ngoại giao hai nước Việt Nam và Trung Quốc đã hội đàm.", ["china"]),
    ("Bắc Kinh phản đối, còn Washington im lặng.", ["china", "us"]),
    ("Chủ tịch Tập Cận Bình tiếp Ngoại trưởng Blinken.", ["china", "us"]),
    ("Ông Vương Nghị và ông Lý Cường cùng dự.", ["china"]),
    ("Tổng thống Putin nói chuyện điện thoại với Điện Kremlin.", ["russia"]),
    ("Phát ngôn viên Nhà Trắng bình luận về Hoa Kỳ.", ["us"]),
    ("Tổng thống Marcos thăm Manila.", ["philippines"]),
    ("Đoàn đại biểu Nhật Bản tới Tokyo, còn Seoul cử đại diện Hàn Quốc.", ["japan", "south_korea"]),
    ("Bình Nhưỡng phóng thử tên lửa, Triều Tiên ra tuyên bố.", ["north_korea"]),
    ("Hội nghị Bộ trưởng Ngoại giao ASEAN tại Vientiane.", ["asean", "laos"]),
    ("Liên minh châu Âu (EU) ký kết với Ấn Độ tại New Delhi.", ["eu", "india"]),
    ("Australia và Úc là một; Canberra là thủ đô.", ["australia"]),
    ("Kazakhstan, Uzbekistan, Kyrgyzstan, Tajikistan và Turkmenistan.",
     ["kazakhstan", "kyrgyzstan", "tajikistan", "turkmenistan", "uzbekistan"]),
    ("Kiev và Kyiv là cùng một thủ đô của Ukraine.", ["ukraine"]),
    ("Đài Loan bầu lãnh đạo mới.", ["taiwan"]),
    ("Tổng thống Pháp Emmanuel Macron gặp Thủ tướng Đức Olaf Scholz ở London.", ["france", "germany", "uk"]),
    ("Thái Lan, Singapore, Campuchia, Myanmar, Brunei, Malaysia, Indonesia và Timor-Leste.",
     ["brunei", "cambodia", "indonesia", "malaysia", "myanmar", "singapore", "thailand", "timor_leste"]),
    # "Anh" and "Đức" only in an unambiguous frame
    ("Vương quốc Anh tăng viện trợ; Thủ tướng Anh phát biểu.", ["uk"]),
    ("Nước Đức và Cộng hòa Liên bang Đức là một.", ["germany"]),
    ("Mỹ, Anh, Pháp và Đức ra tuyên bố chung.", ["france", "germany", "uk", "us"]),
    # short forms in dash compounds
    ("Quan hệ hữu nghị Việt - Trung được củng cố.", ["china"]),
    ("Liên minh Mỹ - Nhật - Hàn tập trận.", ["japan", "south_korea", "us"]),
    ("Đối thoại Mỹ – Trung diễn ra tại Geneva.", ["china", "us"]),
    # segmented text reads like raw text
    ("Chủ_tịch Tập_Cận_Bình thăm Việt_Nam.", ["china"]),
    # old-style tone marks are normalised first
    ("Cộng hoà Nhân dân Trung Hoa.", ["china"]),
]

FALSE_FRIENDS = [
    ("Triển lãm mỹ thuật và viện thẩm mỹ ở thành phố Mỹ Tho.", []),
    ("Trận đấu diễn ra trên sân Mỹ Đình tối qua.", []),
    ("Mỹ thuật đương đại thu hút khách tham quan.", []),
    ("Ca sĩ Mỹ Tâm biểu diễn ở Nam Mỹ và Mỹ Latinh.", []),
    ("Huyện Nga Sơn tổ chức lễ hội; chị Hằng Nga đón Tết Trung thu.", []),
    ("Chị Nguyễn Thị Nga là giáo viên.", []),
    ("Anh trai tôi học tiếng Anh, anh ấy là Anh hùng lao động.", []),
    ("Phó Thủ tướng Hồ Đức Phớc dự hội nghị ở Thủ Đức.", []),
    ("Pháp luật quy định rõ; pháp lệnh mới có hiệu lực.", []),
    ("Đường cao tốc Pháp Vân - Cầu Giẽ được mở rộng.", []),
    ("Xe buýt chạy qua phố Hoàng Sa.", []),
    ("Khu vực Ấn Độ - Thái Bình Dương và Ấn Độ Dương.", []),
    ("Vịnh Thái Lan có mưa lớn.", []),
    ("Tỉnh Lào Cai đón khách du lịch.", []),
    ("U23 Trung Quốc thua U23 Nhật Bản; đội tuyển Thái Lan vào chung kết.", []),
    ("Anh ấy học tiếng Nga và tiếng Nhật.", []),
    ("Giải bóng đá ASEAN Cup khởi tranh.", []),
    ("Vận động viên giành huy chương tại Olympic Paris 2024.", []),
    ("Khu vực châu Á - Thái Bình Dương tăng trưởng.", []),
    ("Mùa Âu là mùa du lịch; Châu Âu và châu Âu là một lục địa.", []),
    ("Tờ Washington Post đưa tin.", []),
    ("Kỷ niệm cuộc kháng chiến chống Pháp và thực dân Pháp.", []),
    ("Bệnh viện Việt Đức tiếp nhận bệnh nhân.", []),
    ("Ngày Chủ nhật và chủ nhật tuần sau.", []),
]


@pytest.mark.parametrize("text,expected", NAMED)
def test_names_are_found(text, expected):
    assert detect_counterparts(text) == expected


@pytest.mark.parametrize("text,expected", FALSE_FRIENDS)
def test_false_friends_are_not_counterparts(text, expected):
    assert detect_counterparts(text) == expected


def test_a_false_friend_does_not_hide_a_real_mention_nearby():
    assert detect_counterparts("Đoàn từ Mỹ Tho sang Mỹ công tác.") == ["us"]
    assert detect_counterparts("Người dân Nga Sơn xem tin về Nga.") == ["russia"]
    assert detect_counterparts("Đài Loan (Trung Quốc) và Trung Quốc đại lục.") == ["china", "taiwan"]
    assert detect_counterparts("U23 Nhật Bản thắng; Thủ tướng Nhật Bản chúc mừng.") == ["japan"]


def test_matching_is_on_whole_syllables_and_case_sensitive():
    assert detect_counterparts("Ngai vàng và ngà voi") == []      # "Nga" inside a longer syllable
    assert detect_counterparts("Mỹ") == ["us"]
    assert detect_counterparts("mỹ") == []                        # lower case is the common noun
    assert detect_counterparts("") == []


def test_result_is_sorted_and_unique():
    out = detect_counterparts("Mỹ, Trung Quốc, Mỹ, Bắc Kinh, Nga.")
    assert out == sorted(set(out)) == ["china", "russia", "us"]


def test_every_alias_of_the_shipped_gazetteer_finds_its_counterpart():
    from importlib.resources import files

    data = json.loads(files("vistance").joinpath("data/counterparts.json").read_text(encoding="utf-8"))
    gz = default_gazetteer()
    missed = []
    for cid, spec in data["counterparts"].items():
        for alias in spec.get("aliases", []):
            if cid not in gz.detect(f"Tin về {alias} hôm nay."):
                missed.append((cid, alias))
    assert missed == []


def test_groups_and_names():
    gz = default_gazetteer()
    assert {"philippines", "laos", "cambodia", "thailand", "singapore", "indonesia", "malaysia", "myanmar",
            "brunei"} <= set(gz.in_group("asean_members"))
    assert set(gz.in_group("central_asia")) == {"kazakhstan", "uzbekistan", "kyrgyzstan", "tajikistan", "turkmenistan"}
    assert gz.name("china") == "China" and gz.name("china", "vi") == "Trung Quốc"
    assert set(gz.main) <= set(gz.ids())


def test_a_custom_gazetteer_from_data():
    gz = Gazetteer.from_dict({"counterparts": {
        "mars": {"name": "Sao Hỏa", "aliases": ["Sao Hỏa"], "exclude": ["Sao Hỏa Tinh"]},
    }})
    assert gz.detect("Tàu thăm dò tới Sao Hoả.") == ["mars"]   # alias and text normalised alike
    assert gz.detect("Truyện Sao Hỏa Tinh.") == []


@pytest.mark.parametrize("bad", [
    {"counterparts": {"Bad Id": {"aliases": ["x"]}}},
    {"counterparts": {"x": {}}},
    {"counterparts": {"x": {"aliases": ["x"], "exclude": ["("]}}},
    {"counterparts": {"x": {"patterns": ["nước X"]}}},                 # patterns need keys
    {"counterparts": {"x": {"aliases": ["x"]}}, "main": ["y"]},
    {"nothing": {}},
])
def test_a_broken_gazetteer_is_refused_with_a_message(bad):
    with pytest.raises(VistanceError):
        Gazetteer.from_dict(bad)


@pytest.mark.parametrize("text", [
    "Hoà bình và hợp tác", "thuỷ sản 2024", "quý khách", "hoà1", "OÀ", "  Mỹ  ", "Mỹ\u200b và Nga", "a\tb\u00a0c",
    "dòng 1 \ndòng 2", "Tập_Cận_Bình", "Trung\r\nQuốc", "bình thường",
])
def test_prepare_equals_normalise(text):
    from vistance.text.normalize import normalize

    assert Gazetteer.prepare(text) == normalize(text.replace("_", " "))
