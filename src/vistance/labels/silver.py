"""Silver labels: keyword labelling functions (LFs), a combiner, and their measurement against gold.

Silver labels are *rules*, not judgements: they live in ``labels/silver/``, never
enter ``labels/gold.jsonl`` and are never used for evaluation (``labels/CODEBOOK.md``,
"Gold vs silver"). They exist for weak supervision and analysis at corpus scale
(``vietnews-fa``, ~82k sentence units).

Labelling functions
-------------------
Every LF is a small named function ``lf_<label>_<cue>(text) -> label | ABSTAIN``
(``ABSTAIN`` is ``None``). Matching is on the normalised text
(:func:`vistance.text.normalize.normalize`), lower-cased, on whole syllable
sequences (``tiếp`` never matches inside ``tiếp tục`` because the cue is a
phrase like ``tiếp Đại sứ``); acronyms (``AI``, ``WHO``, ``EU``, ``COC``...) match
case-sensitively so the Vietnamese word *ai* ("who") is not the acronym *AI*.

Themes (each LF votes for one theme):

========================================  ===============================================================
``lf_maritime_sea_names``                  Biển Đông / Hoàng Sa / Trường Sa / named shoals, not in a weather or street context
``lf_maritime_law_of_sea``                 UNCLOS, Luật Biển, EEZ, continental shelf, COC, freedom of navigation (not in weather text)
``lf_maritime_enforcement``                coast guard, maritime militia, fishing boats and fishermen seized/attacked at sea
``lf_economy_trade``                       trade, import/export, tariffs, turnover, FTA/WTO, goods
``lf_economy_investment``                  investment, finance, banks, GDP, economy, business, markets, supply chains, loans
``lf_economy_energy_resources``            energy, oil and gas, electricity (as a commodity), minerals, rare earths
``lf_infrastructure_transport``            railways, standard gauge, seaports, border gates, logistics, canals; roads/airports/ports
                                           only with a build/connect/develop verb (a traffic diversion is not a project;
                                           "tàu sân bay" is an aircraft carrier)
``lf_science_technology``                  innovation, AI, digital economy, semiconductors, satellites, telecoms, cyber; bare
                                           "khoa học"/"công nghệ" only with cooperation/development/research context
``lf_defense_military``                    military, defence ministry, army/navy, weapons, missiles, troops, exercises
``lf_defense_security``                    terrorism, extremism, cross-border crime, espionage, "ensure security", security
                                           cooperation, public-security ministry (not food/energy security)
``lf_defense_war``                         war, armed conflict, air strikes, fighting (not trade war, not sport)
``lf_political_talks_visits``              talks, phone calls, official/state visits, receiving an ambassador/minister
``lf_political_partnership``               strategic/comprehensive partnership, bilateral relations, political trust, two parties
``lf_political_diplomacy``                 ministry of foreign affairs, foreign minister, embassy, consulate, diplomatic note,
                                           foreign policy
``lf_political_leaders_two_states``        a leader/minister/ambassador + two states or capitals named + a relation word
                                           ("hai bên", "phía", "quan hệ", "hội đàm"...)
``lf_people_education``                    education, training, students, scholarships, human resources
``lf_people_culture_tourism``              culture, tourism, arts, films, heritage, festivals, journalists, entertainment careers
``lf_people_sport``                        football, sport, Olympics, national teams, matches
``lf_people_health_citizens``              health, hospitals, vaccines, citizen protection, overseas Vietnamese, people-to-people
                                           exchange, visas
``lf_multilateral_bodies``                 UN, Security Council, ASEAN, APEC, G7/G20, BRICS, SCO, EU, NATO, WHO, IMF, WB, WEF
``lf_multilateral_order``                  international order/law, multilateral mechanisms, international community,
                                           Indo-Pacific, great-power competition, sub-regional cooperation, summits
``lf_other_weather``                       weather and storm forecasts (votes ``other``; vetoes ``maritime``)
``lf_other_entertainment_lottery``         lottery results, celebrities' private life (votes ``other``; careers are culture)
========================================  ===============================================================

Tone:

========================================  ===============================================================
``lf_tone_protest_condemn``                protest, condemn, reject, summon an ambassador -> contentious
``lf_tone_accuse_criticise``               accuse, criticise, denounce -> contentious
``lf_tone_threat_warning``                 threaten, warn, retaliate, escalate, provoke, coerce -> contentious
``lf_tone_dispute_tension``                dispute, disagreement, tension, violation, pressure, unilateral acts, arrest warrants,
                                           "manage differences" -> contentious
``lf_tone_sanction``                       sanctions, embargo, trade war, punitive tariffs -> contentious
``lf_tone_hostilities``                    attacks, strikes, counter-offensives, fighting, casualties (not sport) -> contentious
``lf_tone_diplomatic_demand``              demands phrased diplomatically: restraint, respect sovereignty, settle peacefully -> contentious
``lf_tone_agreement``                      agree, sign, agreement, memorandum, commit -> cooperative
``lf_tone_cooperation``                    cooperate, coordinate, promote/strengthen relations, strategic partnership (not inside
                                           names such as "Diễn đàn Hợp tác Kinh tế châu Á - Thái Bình Dương") -> cooperative
``lf_tone_support_praise``                 support, appreciate, thank, congratulate, friendship, aid, condolences -> cooperative
``lf_tone_neutral_domain``                 sport results, weather, lottery, disasters (codebook rules 11, 12, 14) -> neutral
========================================  ===============================================================

Combiner (priority rules, in this order)
----------------------------------------
*Themes.* Every theme with at least one LF vote is assigned (a paragraph is
multi-label, so votes for different themes do not compete). ``lf_other_weather``
vetoes ``maritime`` (the codebook's weather rule 11: "Bắc Biển Đông có gió mạnh" is
``other``). A theme vote always beats an ``other`` vote; ``other`` is assigned
when only ``other`` LFs voted. When no theme LF fires at all the unit gets **no
silver label** (it is counted as uncovered, never guessed).

*Tone.* (1) ``lf_tone_neutral_domain`` wins (sport "attacks" and storm reports are
not friction); (2) otherwise any contentious vote wins ("friction wins", as in the
codebook); (3) otherwise any cooperative vote gives ``cooperative``; (4) otherwise
``neutral`` (no evaluative cue: the codebook's definition of neutral).

Measurement
-----------
``run_silver_cli`` applies the same LFs to the gold paragraphs (their text from
``--gold-paragraphs`` joined with ``--gold``) and reports, per LF, *coverage* (share
of gold paragraphs where it fires) and *precision* (share of those whose gold label
has the LF's label), and per label the coverage, precision and recall of the
combined silver label. The cue lists were written while looking only at the
``dev`` half of gold (articles whose SHA-1 of ``article_id`` is even); the
``heldout`` half is reported separately, so the held-out numbers are not tuned.

Outputs (``--out``, default ``labels/silver``): ``vietnews-fa.jsonl`` (ids, text
hashes and labels only; annotator ``lf:<LF_VERSION>``) and ``stats.json``.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Callable

from vistance.labels.schema import OTHER, THEMES, TONES, Label, check_themes
from vistance.text.normalize import normalize

LF_VERSION = "1"
ANNOTATOR = f"lf:{LF_VERSION}"
ABSTAIN = None


# -- matching helpers ---------------------------------------------------------------------
def _alt(phrases) -> str:
    return "|".join(sorted({re.escape(normalize(p).lower()) for p in phrases}, key=len, reverse=True))


def _rx(*phrases: str) -> re.Pattern:
    """Case-insensitive whole-syllable match of any phrase (text is lower-cased before matching)."""
    return re.compile(r"(?<![\w])(?:" + _alt(phrases) + r")(?![\w])")


def _rx_cs(*phrases: str) -> re.Pattern:
    """Case-sensitive whole-word match (acronyms)."""
    alts = "|".join(sorted({re.escape(p) for p in phrases}, key=len, reverse=True))
    return re.compile(r"(?<![\w])(?:" + alts + r")(?![\w])")


class _Text:
    __slots__ = ("raw", "low")

    def __init__(self, text: str):
        self.raw = normalize(text)
        self.low = self.raw.lower()


@lru_cache(maxsize=8192)
def _prep(text: str) -> _Text:
    return _Text(text)


def _has(t: _Text, rx: re.Pattern) -> bool:
    return rx.search(t.low) is not None


def _has_cs(t: _Text, rx: re.Pattern) -> bool:
    return rx.search(t.raw) is not None


# -- shared cue sets ------------------------------------------------------------------------
_WEATHER = _rx("dự báo thời tiết", "áp thấp nhiệt đới", "vùng áp thấp", "bão số", "cơn bão", "siêu bão", "gió mạnh cấp",
               "giật cấp", "mưa lớn", "mưa to", "nhiệt độ thấp nhất", "nhiệt độ cao nhất", "sóng cao", "biển động",
               "không khí lạnh", "trung tâm dự báo khí tượng", "khí tượng thủy văn", "tâm bão", "đổ bộ vào")
_SPORT = _rx("bóng đá", "đội tuyển", "trận đấu", "giải đấu", "vòng bảng", "bán kết", "chung kết", "tứ kết", "thủ môn",
             "tiền đạo", "hậu vệ", "tiền vệ", "huấn luyện viên", "hlv", "ghi bàn", "bàn thắng", "sân vận động", "olympic",
             "huy chương", "hcv", "asean cup", "aff cup", "world cup", "sea games", "v-league", "cầu thủ", "vận động viên",
             "thể thao", "hiệp một", "hiệp hai", "u23", "u22", "u19", "u17", "u16")
_LOTTERY = _rx("xổ số", "xsmn", "xsmb", "kết quả xổ", "giải đặc biệt", "vietlott")
_SHOWBIZ = _rx("hẹn hò", "ly hôn", "người yêu", "bạn trai", "bạn gái", "tình cảm riêng tư", "đời tư", "scandal", "bê bối tình",
               "clip nhạy cảm", "mang thai", "đám cưới")
_DISASTER = _rx("động đất", "lũ lụt", "sạt lở", "cháy rừng", "hỏa hoạn", "lũ quét", "ngập lụt", "thiên tai")


# == theme LFs ==============================================================================
_SEA_NAMES = _rx("biển đông", "hoàng sa", "trường sa", "biển hoa đông", "bãi cỏ mây", "bãi cạn scarborough", "scarborough",
                 "second thomas", "bãi tư chính", "đá vành khăn", "bãi cạn", "quần đảo", "chủ quyền biển đảo", "biển đảo",
                 "nam hải", "south china sea")
_STREET = _rx("đường hoàng sa", "đường trường sa", "phố hoàng sa", "phố trường sa")


def lf_maritime_sea_names(text: str):
    t = _prep(text)
    if _has(t, _SEA_NAMES) and not _has(t, _WEATHER) and not (_has(t, _STREET) and not _has(t, _rx("chủ quyền"))):
        return "maritime"
    return ABSTAIN


_LAW_OF_SEA = _rx("unclos", "công ước liên hợp quốc về luật biển", "luật biển", "vùng đặc quyền kinh tế", "thềm lục địa",
                  "bộ quy tắc ứng xử", "tự do hàng hải", "an ninh hàng hải", "an toàn hàng hải", "lãnh hải",
                  "đường lưỡi bò", "đường chín đoạn", "yêu sách", "phán quyết trọng tài")
_COC = _rx_cs("COC", "DOC", "UNCLOS", "EEZ")


def lf_maritime_law_of_sea(text: str):
    t = _prep(text)
    if _has(t, _WEATHER):
        return ABSTAIN
    return "maritime" if (_has(t, _LAW_OF_SEA) or _has_cs(t, _COC)) else ABSTAIN


_ENFORCEMENT = _rx("hải cảnh", "cảnh sát biển", "tuần duyên", "dân quân biển", "lực lượng bảo vệ bờ biển", "tàu hải cảnh",
                   "tàu khảo sát", "giàn khoan", "tàu cá", "ngư dân", "ngư trường", "vòi rồng", "tàu hải quân",
                   "tuần tra chung trên biển", "trên biển")


def lf_maritime_enforcement(text: str):
    t = _prep(text)
    return "maritime" if _has(t, _ENFORCEMENT) and not _has(t, _WEATHER) else ABSTAIN


_TRADE = _rx("thương mại", "xuất khẩu", "nhập khẩu", "xuất nhập khẩu", "kim ngạch", "thuế quan", "hàng hóa", "hàng rào thuế",
             "thặng dư", "thâm hụt thương mại", "giao thương", "hiệp định thương mại", "thương mại tự do")
_TRADE_CS = _rx_cs("FTA", "WTO", "CPTPP", "RCEP", "EVFTA")


def lf_economy_trade(text: str):
    t = _prep(text)
    return "economy_trade" if (_has(t, _TRADE) or _has_cs(t, _TRADE_CS)) else ABSTAIN


_INVEST = _rx("đầu tư", "nhà đầu tư", "vốn đầu tư", "tài chính", "ngân hàng", "tăng trưởng kinh tế", "nền kinh tế", "kinh tế",
              "doanh nghiệp", "thị trường", "chuỗi cung ứng", "nông sản", "thủy sản", "ngành công nghiệp", "khu công nghiệp",
              "viện trợ phát triển", "lạm phát", "chứng khoán", "tiền tệ", "nợ công", "khoản vay", "cổ phiếu", "giá dầu")
_INVEST_CS = _rx_cs("GDP", "FDI", "ODA", "IMF")


def lf_economy_investment(text: str):
    t = _prep(text)
    return "economy_trade" if (_has(t, _INVEST) or _has_cs(t, _INVEST_CS)) else ABSTAIN


_ENERGY = _rx("năng lượng", "dầu khí", "dầu mỏ", "khí đốt", "khí tự nhiên", "lng", "điện năng", "nhà máy điện",
              "xuất khẩu điện", "nhập khẩu điện", "mua điện", "điện gió", "điện mặt trời", "điện hạt nhân", "thủy điện",
              "khoáng sản", "đất hiếm", "than đá", "xăng dầu", "giá dầu", "opec")


def lf_economy_energy_resources(text: str):
    t = _prep(text)
    return "economy_trade" if _has(t, _ENERGY) else ABSTAIN


_TRANSPORT = _rx("đường sắt", "khổ tiêu chuẩn", "cửa khẩu", "cảng biển", "cảng container", "cảng nước sâu", "hạ tầng giao thông",
                 "cơ sở hạ tầng giao thông", "hạ tầng chiến lược", "kết nối hạ tầng", "logistics", "kết nối giao thông",
                 "giao thông vận tải", "kênh đào", "metro", "tàu điện", "cầu cảng", "hành lang kinh tế", "vành đai và con đường",
                 "vành đai, con đường", "một vành đai", "liên vận", "cảng hàng không", "nhà ga", "đường cao tốc bắc")
# a transport object counts only with a building/connecting verb (routes of a traffic diversion do not)
_TRANSPORT_OBJ = _rx("cao tốc", "sân bay", "cảng", "cây cầu", "hạ tầng", "cơ sở hạ tầng", "đường bộ", "tuyến đường", "quốc lộ")
_TRANSPORT_ACT = _rx("xây dựng", "dự án", "khởi công", "hoàn thành", "nâng cấp", "mở rộng", "đầu tư", "kết nối", "phát triển",
                     "vận hành", "khai thác", "giai đoạn", "phá hủy", "cho nổ")


_NOT_TRANSPORT = _rx("tàu sân bay", "trân châu cảng", "hạ tầng số", "hạ tầng ai", "cơ sở hạ tầng ai", "hạ tầng năng lượng",
                     "hạ tầng thiết yếu", "hạ tầng điện")


def lf_infrastructure_transport(text: str):
    t = _prep(text)
    low = _NOT_TRANSPORT.sub(" ", t.low)
    if _TRANSPORT.search(low) or (_TRANSPORT_OBJ.search(low) and _TRANSPORT_ACT.search(low) and not _has(t, _SCITECH_STRONG)):
        return "infrastructure"
    return ABSTAIN


_SCITECH_STRONG = _rx("đổi mới sáng tạo", "trí tuệ nhân tạo", "chuyển đổi số", "kinh tế số", "số hóa", "bán dẫn", "vi mạch", "chip",
                      "vệ tinh", "viễn thông", "không gian mạng", "an ninh mạng", "tấn công mạng", "tin tặc", "hacker",
                      "hàng không vũ trụ", "tàu vũ trụ", "nghiên cứu khoa học", "phần mềm", "robot", "5g", "điện toán",
                      "công nghệ cao", "khoa học công nghệ", "khoa học - công nghệ", "khoa học và công nghệ", "khoa học-công nghệ",
                      "chuyển giao công nghệ", "hợp tác công nghệ", "công nghệ số", "công nghệ thông tin", "công nghệ mới",
                      "công nghệ lõi", "công nghệ quân sự", "công nghệ hạt nhân", "thiết bị bay", "tên lửa đẩy")
_SCITECH_CS = _rx_cs("AI", "ChatGPT", "NASA", "ICT", "DeepSeek", "OpenAI", "Nvidia", "NVIDIA")
_SCITECH_WEAK = _rx("khoa học", "công nghệ")
_SCITECH_CONTEXT = _rx("hợp tác", "phát triển", "nghiên cứu", "lĩnh vực", "ứng dụng", "đầu tư", "thúc đẩy", "tiên tiến")
_MINISTRY = _rx("bộ khoa học và công nghệ", "bộ khoa học, công nghệ", "viện hàn lâm khoa học", "tiến sĩ khoa học")


def lf_science_technology(text: str):
    t = _prep(text)
    if _has(t, _SCITECH_STRONG) or _has_cs(t, _SCITECH_CS):
        return "science_technology"
    low = _MINISTRY.sub(" ", t.low)
    if _SCITECH_WEAK.search(low) and _SCITECH_CONTEXT.search(low):
        return "science_technology"
    return ABSTAIN


_MILITARY = _rx("quân sự", "quốc phòng", "quân đội", "quân đoàn", "sư đoàn", "lữ đoàn", "hải quân", "không quân", "lục quân",
                "tập trận", "diễn tập", "vũ khí", "tên lửa", "binh sĩ", "binh lính", "quân nhân", "tàu chiến", "chiến hạm",
                "tàu sân bay", "máy bay chiến đấu", "chiến đấu cơ", "lầu năm góc", "bộ tổng tham mưu", "quân ủy", "đại tướng",
                "thượng tướng", "trung tướng", "thiếu tướng", "hạt nhân", "uav", "drone", "đạn dược", "quân sự hóa",
                "căn cứ quân sự", "lực lượng vũ trang", "phòng không")
_MILITARY_CS = _rx_cs("NATO", "ICBM")


def lf_defense_military(text: str):
    t = _prep(text)
    if _has(t, _SPORT):
        return ABSTAIN
    return "defense_security" if (_has(t, _MILITARY) or _has_cs(t, _MILITARY_CS)) else ABSTAIN


_SECURITY = _rx("khủng bố", "chủ nghĩa cực đoan", "phần tử cực đoan", "tội phạm xuyên quốc gia", "buôn lậu", "buôn bán người",
                "ma túy", "gián điệp", "vượt biên", "tội phạm mạng", "bảo đảm an ninh", "đảm bảo an ninh", "hợp tác an ninh",
                "an ninh trật tự", "an ninh, trật tự", "quốc phòng - an ninh", "quốc phòng, an ninh", "quốc phòng và an ninh",
                "lực lượng an ninh", "mối đe dọa an ninh", "đe dọa an ninh", "bộ công an", "công an nhân dân", "tình báo")
_NOT_SECURITY = _rx("an ninh lương thực", "an ninh năng lượng", "an ninh nguồn nước", "hội đồng bảo an", "an sinh")


def lf_defense_security(text: str):
    t = _prep(text)
    if _has(t, _SECURITY):
        # "an ninh lương thực" alone is food security, not security
        stripped = _NOT_SECURITY.sub(" ", t.low)
        if _SECURITY.search(stripped):
            return "defense_security"
    return ABSTAIN


_WAR = _rx("chiến tranh", "xung đột vũ trang", "chiến sự", "giao tranh", "không kích", "pháo kích", "oanh tạc", "xâm lược",
           "chiến trường", "tiền tuyến", "phản công", "đình chiến", "ngừng bắn", "thương vong", "tử trận", "chiến dịch quân sự")
_NOT_WAR = _rx("chiến tranh thương mại", "chiến tranh lạnh", "chiến tranh công nghệ", "chiến tranh tiền tệ", "chiến tranh giá")


def lf_defense_war(text: str):
    t = _prep(text)
    if _has(t, _SPORT):
        return ABSTAIN
    if _has(t, _WAR) and _WAR.search(_NOT_WAR.sub(" ", t.low)):
        return "defense_security"
    return ABSTAIN


_TALKS = _rx("hội đàm", "hội kiến", "điện đàm", "thăm chính thức", "thăm cấp nhà nước", "chuyến thăm", "công du",
             "chuyến công tác", "tiếp đại sứ", "tiếp bộ trưởng", "tiếp thủ tướng", "tiếp chủ tịch", "tiếp tổng thống",
             "tiếp ngoại trưởng", "tiếp đoàn", "tiếp phó", "tiếp xã giao", "thượng đỉnh", "cuộc gặp", "gặp gỡ",
             "đối thoại chiến lược", "tham vấn chính trị", "lễ đón")


def lf_political_talks_visits(text: str):
    t = _prep(text)
    return "political_relations" if _has(t, _TALKS) else ABSTAIN


_PARTNERSHIP = _rx("đối tác chiến lược", "đối tác toàn diện", "đối tác hợp tác chiến lược", "quan hệ hai nước", "quan hệ song phương",
                   "quan hệ ngoại giao", "song phương", "tin cậy chính trị", "hai đảng", "lãnh đạo hai nước", "hai nước",
                   "quan hệ hữu nghị", "láng giềng hữu nghị", "cộng đồng chia sẻ tương lai", "quan hệ việt", "quan hệ trung",
                   "quan hệ mỹ", "quan hệ nga", "bình thường hóa quan hệ", "cắt đứt quan hệ", "thiết lập quan hệ")


def lf_political_partnership(text: str):
    t = _prep(text)
    return "political_relations" if _has(t, _PARTNERSHIP) else ABSTAIN


_DIPLOMACY = _rx("bộ ngoại giao", "ngoại trưởng", "bộ trưởng ngoại giao", "đại sứ quán", "tổng lãnh sự", "người phát ngôn bộ",
                 "công hàm", "triệu tập đại sứ", "quan hệ ngoại giao", "chính sách đối ngoại", "chính sách ngoại giao",
                 "hoạt động đối ngoại", "đối ngoại đảng", "ngoại giao nhà nước")
_LEADER = _rx("thủ tướng", "tổng thống", "tổng bí thư", "chủ tịch nước", "chủ tịch trung quốc", "chủ tịch quốc hội", "quốc vương",
              "đại sứ", "bộ trưởng", "lãnh đạo", "ông tập", "ông putin", "ông trump", "ông biden", "nhà trắng", "điện kremlin")
_COUNTRIES = ("việt nam", "trung quốc", "mỹ", "hoa kỳ", "nga", "nhật bản", "hàn quốc", "triều tiên", "ấn độ", "pháp", "đức",
              "anh", "australia", "úc", "lào", "campuchia", "thái lan", "philippines", "indonesia", "malaysia", "singapore",
              "myanmar", "brunei", "timor-leste", "ukraine", "israel", "iran", "cuba", "canada", "brazil", "hungary", "ba lan",
              "thổ nhĩ kỳ", "saudi arabia", "new zealand", "mông cổ", "kazakhstan", "đài loan", "palestine", "peru", "chile",
              "argentina", "mexico", "italy", "ý", "tây ban nha", "hà lan", "bỉ", "thụy sĩ", "thụy điển", "na uy", "phần lan",
              "belarus", "syria", "iraq", "ai cập", "nam phi", "venezuela", "panama", "bắc kinh", "washington", "moscow",
              "matxcơva", "hà nội", "tokyo", "seoul", "bình nhưỡng", "kiev", "kyiv", "london", "paris", "berlin")
_COUNTRY_RX = {c: _rx(c) for c in _COUNTRIES}
_BILATERAL = _rx("hai bên", "hai nước", "phía", "quan hệ", "đoàn", "hội đàm", "gặp", "tiếp")


def _n_countries(t: _Text) -> int:
    return sum(1 for rx in _COUNTRY_RX.values() if rx.search(t.low))


def lf_political_diplomacy(text: str):
    t = _prep(text)
    return "political_relations" if _has(t, _DIPLOMACY) else ABSTAIN


def lf_political_leaders_two_states(text: str):
    """A leader/minister/ambassador and two states (or capitals) named, with a relation word."""
    t = _prep(text)
    if _has(t, _SPORT):
        return ABSTAIN
    if _has(t, _LEADER) and _has(t, _BILATERAL) and _n_countries(t) >= 2:
        return "political_relations"
    return ABSTAIN


_EDUCATION = _rx("giáo dục", "đào tạo nguồn nhân lực", "đào tạo nhân lực", "hợp tác đào tạo", "đào tạo cán bộ", "sinh viên",
                 "du học", "du học sinh", "học bổng", "học sinh", "nguồn nhân lực", "nhân lực chất lượng cao", "giáo viên",
                 "hợp tác giáo dục", "trao đổi học thuật", "giáo dục đào tạo")


def lf_people_education(text: str):
    t = _prep(text)
    return "people_culture_education" if _has(t, _EDUCATION) else ABSTAIN


_CULTURE = _rx("văn hóa", "du lịch", "du khách", "khách du lịch", "nghệ thuật", "bộ phim", "điện ảnh", "di sản", "lễ hội",
               "âm nhạc", "nhà báo", "tết", "ẩm thực", "ca sĩ", "diễn viên", "hoa hậu", "á hậu", "showbiz", "nghệ sĩ",
               "làng giải trí", "giải trí", "người mẫu", "tự do báo chí")


def lf_people_culture_tourism(text: str):
    t = _prep(text)
    return "people_culture_education" if _has(t, _CULTURE) else ABSTAIN


def lf_people_sport(text: str):
    t = _prep(text)
    return "people_culture_education" if _has(t, _SPORT) else ABSTAIN


_HEALTH_PEOPLE = _rx("y tế", "bệnh viện", "dịch bệnh", "vaccine", "vắc xin", "sức khỏe cộng đồng", "chăm sóc sức khỏe",
                     "bảo hộ công dân", "sơ tán công dân", "người việt nam ở nước ngoài", "kiều bào", "cộng đồng người việt",
                     "bà con", "giao lưu nhân dân", "giao lưu hữu nghị", "đối ngoại nhân dân", "thanh niên hai nước",
                     "lao động việt nam", "người lao động việt nam", "thị thực", "miễn thị thực", "visa")


def lf_people_health_citizens(text: str):
    t = _prep(text)
    return "people_culture_education" if _has(t, _HEALTH_PEOPLE) else ABSTAIN


_BODIES = _rx("liên hợp quốc", "liên hiệp quốc", "hội đồng bảo an", "đại hội đồng", "tổ chức y tế thế giới", "ngân hàng thế giới",
              "quỹ tiền tệ quốc tế", "liên minh châu âu", "diễn đàn kinh tế thế giới", "hiệp hội các quốc gia đông nam á",
              "thượng đỉnh g20", "tổ chức thương mại thế giới", "tòa án quốc tế", "tòa trọng tài", "liên minh")
_BODIES_CS = _rx_cs("ASEAN", "APEC", "G7", "G20", "BRICS", "SCO", "EU", "NATO", "WHO", "UNESCO", "UN", "LHQ", "IMF", "WB",
                    "WEF", "ARF", "EAS", "ADMM", "OPEC", "QUAD", "Quad", "AUKUS", "IAEA", "ICC", "ICJ", "Interpol", "UNICEF")


def lf_multilateral_bodies(text: str):
    t = _prep(text)
    if _has(t, _SPORT):
        return ABSTAIN  # "ASEAN Cup"
    return "multilateral_global" if (_has(t, _BODIES) or _has_cs(t, _BODIES_CS)) else ABSTAIN


_ORDER = _rx("trật tự quốc tế", "trật tự thế giới", "luật pháp quốc tế", "chủ nghĩa đa phương", "cơ chế đa phương",
             "diễn đàn đa phương", "hợp tác đa phương", "ngoại giao đa phương", "cộng đồng quốc tế", "quản trị toàn cầu",
             "thách thức toàn cầu", "vấn đề toàn cầu", "hòa bình, ổn định, hợp tác và phát triển ở khu vực và trên thế giới",
             "ấn độ dương - thái bình dương", "ấn độ dương-thái bình dương", "ấn độ - thái bình dương",
             "kiến trúc khu vực", "cục diện thế giới", "trật tự dựa trên luật lệ", "các nước lớn", "cạnh tranh nước lớn",
             "cạnh tranh chiến lược", "đa cực", "thế giới đa cực", "liên kết khu vực", "hội nhập quốc tế", "tiểu vùng mekong",
             "mekong - lan thương", "hợp tác tiểu vùng", "hợp tác ba nước", "hội nghị thượng đỉnh")


def lf_multilateral_order(text: str):
    t = _prep(text)
    return "multilateral_global" if _has(t, _ORDER) else ABSTAIN


def lf_other_weather(text: str):
    t = _prep(text)
    return OTHER if _has(t, _WEATHER) else ABSTAIN


def lf_other_entertainment_lottery(text: str):
    t = _prep(text)
    return OTHER if (_has(t, _LOTTERY) or _has(t, _SHOWBIZ)) else ABSTAIN


# == tone LFs ===============================================================================
_PROTEST = _rx("phản đối", "lên án", "bác bỏ", "phản bác", "triệu tập đại sứ", "trao công hàm", "không chấp nhận",
               "kịch liệt", "bày tỏ phẫn nộ", "phẫn nộ")


def lf_tone_protest_condemn(text: str):
    return "contentious" if _has(_prep(text), _PROTEST) else ABSTAIN


_ACCUSE = _rx("cáo buộc", "chỉ trích", "tố cáo", "công kích", "chỉ trích gay gắt", "đổ lỗi", "vu khống", "xuyên tạc")


def lf_tone_accuse_criticise(text: str):
    return "contentious" if _has(_prep(text), _ACCUSE) else ABSTAIN


_THREAT = _rx("đe dọa", "cảnh báo", "răn đe", "trả đũa", "leo thang", "khiêu khích", "gây hấn", "cưỡng ép", "hăm dọa",
              "tối hậu thư", "đáp trả")


def lf_tone_threat_warning(text: str):
    t = _prep(text)
    if _has(t, _WEATHER) or _has(t, _SPORT):
        return ABSTAIN
    return "contentious" if _has(t, _THREAT) else ABSTAIN


_DISPUTE = _rx("tranh chấp", "bất đồng", "căng thẳng", "xâm phạm", "vi phạm chủ quyền", "vi phạm", "mâu thuẫn", "đối đầu",
               "quản lý khác biệt", "kiểm soát bất đồng", "xử lý ổn thỏa", "bất ổn", "đối thủ", "cạnh tranh chiến lược",
               "phi pháp", "bất hợp pháp", "hung hăng", "xô xát", "va chạm", "bắt giữ", "sức ép", "gây sức ép", "chèn ép",
               "trở ngại", "đơn phương", "lệnh bắt", "bất chấp", "kêu gọi trả tự do", "quân nổi dậy", "hục hặc", "can thiệp")


def lf_tone_dispute_tension(text: str):
    t = _prep(text)
    if _has(t, _SPORT):
        return ABSTAIN
    return "contentious" if _has(t, _DISPUTE) else ABSTAIN


_SANCTION = _rx("trừng phạt", "cấm vận", "chiến tranh thương mại", "thuế trả đũa", "áp thuế", "lệnh cấm", "danh sách đen",
                "hạn chế xuất khẩu", "phong tỏa tài sản", "đóng băng tài sản")


def lf_tone_sanction(text: str):
    return "contentious" if _has(_prep(text), _SANCTION) else ABSTAIN


_HOSTILE = _rx("tấn công", "không kích", "pháo kích", "oanh tạc", "giao tranh", "xâm lược", "thương vong", "bắn hạ", "phá hủy",
               "chiến sự", "xung đột", "phản công", "cuộc chiến", "đánh bom", "ném bom", "chiến tranh hạt nhân", "tập kích",
               "phóng tên lửa", "tiêu diệt", "chiếm đóng", "bao vây", "chiến trường", "tiền tuyến", "giành quyền kiểm soát")


def lf_tone_hostilities(text: str):
    t = _prep(text)
    if _has(t, _SPORT):
        return ABSTAIN
    return "contentious" if _has(t, _HOSTILE) else ABSTAIN


_DEMAND = _rx("kiềm chế", "tôn trọng chủ quyền", "yêu cầu trung quốc", "yêu cầu phía", "yêu cầu các bên", "đề nghị các bên",
              "giải quyết hòa bình các tranh chấp", "giải quyết các tranh chấp", "không sử dụng vũ lực", "đe dọa sử dụng vũ lực",
              "quân sự hóa", "hành động đơn phương", "làm phức tạp thêm tình hình", "rút ngay", "chấm dứt ngay")


def lf_tone_diplomatic_demand(text: str):
    return "contentious" if _has(_prep(text), _DEMAND) else ABSTAIN


_AGREE = _rx("nhất trí", "ký kết", "bản ghi nhớ", "cam kết", "tuyên bố chung", "văn kiện hợp tác", "thỏa thuận hợp tác",
             "đạt được thỏa thuận", "đạt được nhận thức chung", "nhận thức chung", "đồng ý hợp tác")


def lf_tone_agreement(text: str):
    return "cooperative" if _has(_prep(text), _AGREE) else ABSTAIN


_COOP = _rx("hợp tác", "phối hợp", "thúc đẩy quan hệ", "tăng cường quan hệ", "làm sâu sắc", "nâng cấp quan hệ",
            "đối tác chiến lược", "đối tác toàn diện", "cùng có lợi", "mở rộng hợp tác", "tăng cường hợp tác",
            "chia sẻ kinh nghiệm", "cùng phát triển", "cùng thắng")
# organisation names that contain "hợp tác" are not cooperation being reported
_COOP_NAMES = _rx("diễn đàn hợp tác kinh tế châu á - thái bình dương", "diễn đàn hợp tác kinh tế châu á-thái bình dương",
                  "diễn đàn hợp tác kinh tế", "tổ chức hợp tác thượng hải", "tổ chức hợp tác và phát triển kinh tế",
                  "hội đồng hợp tác vùng vịnh", "tổ chức hợp tác hồi giáo", "bộ hợp tác", "cơ chế hợp tác")


def lf_tone_cooperation(text: str):
    t = _prep(text)
    return "cooperative" if _COOP.search(_COOP_NAMES.sub(" ", t.low)) else ABSTAIN


_SUPPORT = _rx("ủng hộ", "đánh giá cao", "cảm ơn", "chúc mừng", "hữu nghị", "tin cậy chính trị", "giúp đỡ", "viện trợ",
               "hoan nghênh", "tình hữu nghị", "anh em", "sẵn sàng hợp tác", "hỗ trợ lẫn nhau", "cảm kích", "biết ơn",
               "chia buồn", "thăm hỏi", "tình đoàn kết", "đoàn kết")


def lf_tone_support_praise(text: str):
    return "cooperative" if _has(_prep(text), _SUPPORT) else ABSTAIN


def lf_tone_neutral_domain(text: str):
    t = _prep(text)
    return "neutral" if (_has(t, _SPORT) or _has(t, _WEATHER) or _has(t, _LOTTERY) or _has(t, _DISASTER)) else ABSTAIN


# -- registry -------------------------------------------------------------------------------
THEME_LFS: list[Callable] = [
    lf_maritime_sea_names, lf_maritime_law_of_sea, lf_maritime_enforcement,
    lf_economy_trade, lf_economy_investment, lf_economy_energy_resources,
    lf_infrastructure_transport, lf_science_technology,
    lf_defense_military, lf_defense_security, lf_defense_war,
    lf_political_talks_visits, lf_political_partnership, lf_political_diplomacy, lf_political_leaders_two_states,
    lf_people_education, lf_people_culture_tourism, lf_people_sport, lf_people_health_citizens,
    lf_multilateral_bodies, lf_multilateral_order,
    lf_other_weather, lf_other_entertainment_lottery,
]
TONE_LFS: list[Callable] = [
    lf_tone_protest_condemn, lf_tone_accuse_criticise, lf_tone_threat_warning, lf_tone_dispute_tension, lf_tone_sanction,
    lf_tone_hostilities, lf_tone_diplomatic_demand,
    lf_tone_agreement, lf_tone_cooperation, lf_tone_support_praise,
    lf_tone_neutral_domain,
]
ALL_LFS = THEME_LFS + TONE_LFS

# the label each LF can vote for (for reporting)
LF_LABEL: dict[str, str] = {}
for _f in ALL_LFS:
    _n = _f.__name__
    if _n.startswith("lf_tone_"):
        LF_LABEL[_n] = "neutral" if _n == "lf_tone_neutral_domain" else (
            "cooperative" if _n in ("lf_tone_agreement", "lf_tone_cooperation", "lf_tone_support_praise") else "contentious")
    elif _n.startswith("lf_other_"):
        LF_LABEL[_n] = OTHER
    else:
        _pre = _n[3:].split("_")[0]
        LF_LABEL[_n] = {"maritime": "maritime", "economy": "economy_trade", "infrastructure": "infrastructure",
                        "science": "science_technology", "defense": "defense_security", "political": "political_relations",
                        "people": "people_culture_education", "multilateral": "multilateral_global"}[_pre]


def apply_lfs(text: str) -> dict[str, str]:
    """The non-abstaining votes of every LF on ``text``: ``{lf_name: label}``."""
    out = {}
    for f in ALL_LFS:
        v = f(text)
        if v is not ABSTAIN:
            out[f.__name__] = v
    return out


def combine(votes: dict[str, str]) -> tuple[list[str] | None, str]:
    """Combine LF votes into ``(themes, tone)``; ``themes`` is ``None`` when no theme LF voted.

    See the module docstring for the priority rules.
    """
    theme_votes = {votes[f.__name__] for f in THEME_LFS if f.__name__ in votes}
    themes: list[str] | None
    if not theme_votes:
        themes = None
    else:
        real = {v for v in theme_votes if v != OTHER}
        if "lf_other_weather" in votes:
            real.discard("maritime")
        themes = check_themes(sorted(real)) if real else [OTHER]
    tone_votes = [votes[f.__name__] for f in TONE_LFS if f.__name__ in votes]
    if "neutral" in tone_votes:
        tone = "neutral"
    elif "contentious" in tone_votes:
        tone = "contentious"
    elif "cooperative" in tone_votes:
        tone = "cooperative"
    else:
        tone = "neutral"
    return themes, tone


def silver_label(text: str) -> tuple[list[str] | None, str, dict[str, str]]:
    """``(themes or None, tone, votes)`` for one text."""
    votes = apply_lfs(text)
    themes, tone = combine(votes)
    return themes, tone, votes


def label_units(units, annotated_at: str = "") -> tuple[list[Label], dict]:
    """Silver :class:`Label` records for paragraph/sentence units (objects with ``paragraph_id``,
    ``text_sha1``, ``text``), and coverage counts. Units where no theme LF fires get no label."""
    labels: list[Label] = []
    n = covered_theme = covered_tone = 0
    theme_counts: Counter = Counter()
    tone_counts: Counter = Counter()
    lf_fires: Counter = Counter()
    for u in units:
        n += 1
        themes, tone, votes = silver_label(u.text)
        lf_fires.update(votes.keys())
        if any(k in votes for k in (f.__name__ for f in TONE_LFS)):
            covered_tone += 1
        if themes is None:
            continue
        covered_theme += 1
        theme_counts.update(themes)
        tone_counts[tone] += 1
        labels.append(Label(paragraph_id=u.paragraph_id, text_sha1=u.text_sha1, themes=themes, tone=tone,
                            annotator=ANNOTATOR, annotated_at=annotated_at))
    info = {
        "units": n, "labelled": len(labels),
        "coverage": {"labelled": _r(len(labels) / n if n else 0.0), "any_theme_lf": _r(covered_theme / n if n else 0.0),
                     "any_tone_lf": _r(covered_tone / n if n else 0.0)},
        "themes": {t: theme_counts.get(t, 0) for t in THEMES},
        "tone": {t: tone_counts.get(t, 0) for t in TONES},
        "lf_coverage": {f.__name__: _r(lf_fires.get(f.__name__, 0) / n if n else 0.0) for f in ALL_LFS},
    }
    return labels, info


def _r(x: float) -> float:
    return round(float(x), 4)


# -- measurement against gold ----------------------------------------------------------------
def is_dev_article(article_id: str) -> bool:
    """The half of gold the cue lists were developed on (SHA-1 of the article id is even)."""
    return int(hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:8], 16) % 2 == 0


def evaluate_against_gold(rows: list[dict]) -> dict:
    """Per-LF and per-label coverage/precision (and recall) of the LFs on gold ``rows``
    (``text``, ``themes``, ``tone``; from :func:`vistance.dataset.join_labels`)."""
    n = len(rows)
    lf_fire: Counter = Counter()
    lf_hit: Counter = Counter()
    lab_pred: Counter = Counter()
    lab_hit: Counter = Counter()
    lab_gold: Counter = Counter()
    unlabelled = 0
    for r in rows:
        gold = set(r["themes"]) | {r["tone"]}
        lab_gold.update(gold)
        themes, tone, votes = silver_label(r["text"])
        for name, lab in votes.items():
            lf_fire[name] += 1
            lf_hit[name] += int(lab in gold)
        if themes is None:
            unlabelled += 1
            continue
        for lab in list(themes) + [tone]:
            lab_pred[lab] += 1
            lab_hit[lab] += int(lab in gold)
    per_lf = {}
    for f in ALL_LFS:
        k = f.__name__
        per_lf[k] = {"label": LF_LABEL[k], "coverage": _r(lf_fire[k] / n if n else 0.0),
                     "precision": _r(lf_hit[k] / lf_fire[k]) if lf_fire[k] else None, "fires": lf_fire[k]}
    per_label = {}
    for lab in list(THEMES) + list(TONES):
        per_label[lab] = {"coverage": _r(lab_pred[lab] / n if n else 0.0),
                          "precision": _r(lab_hit[lab] / lab_pred[lab]) if lab_pred[lab] else 0.0,
                          "recall": _r(lab_hit[lab] / lab_gold[lab]) if lab_gold[lab] else 0.0,
                          "gold_support": lab_gold[lab], "silver_assigned": lab_pred[lab]}
    return {"paragraphs": n, "labelled": n - unlabelled, "coverage": _r((n - unlabelled) / n if n else 0.0),
            "per_lf": per_lf, "per_label": per_label}


# -- CLI ------------------------------------------------------------------------------------
def run_silver_cli(args) -> int:
    """``vistance silver``: LFs -> ``<out>/vietnews-fa.jsonl`` + ``<out>/stats.json``.

    ``args``: ``paragraphs`` (units to label, e.g. the ingested vietnews-fa), ``gold_paragraphs``
    and ``gold`` (to measure the LFs), ``out`` (folder), ``limit`` (label only the first N units).
    """
    import datetime as _dt
    import itertools

    from vistance.corpus import read_paragraphs
    from vistance.dataset.build import join_labels, write_json
    from vistance.errors import VistanceError
    from vistance.io import atomic_write, file_lock
    from vistance.labels.store import read_labels

    out = Path(args.out)
    gold_path = Path(args.gold)
    if out.resolve() == gold_path.resolve().parent:
        raise VistanceError(f"silver labels are stored apart from gold: --out {out} is the gold folder; use e.g. labels/silver")
    out.mkdir(parents=True, exist_ok=True)
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    units = read_paragraphs(args.paragraphs)
    if args.limit:
        units = itertools.islice(units, int(args.limit))
    units = list(units)
    labels, info = label_units(units, annotated_at=now)
    corpora = Counter(getattr(u, "corpus", None) or "unknown" for u in units)
    corpus = corpora.most_common(1)[0][0] if corpora else "vietnews-fa"
    target = out / f"{corpus if corpus != 'unknown' else 'vietnews-fa'}.jsonl"
    if target.resolve() == gold_path.resolve() or target.name == gold_path.name:
        raise VistanceError("silver labels are never written into the gold file")
    with file_lock(target), atomic_write(target) as fh:
        for lab in sorted(labels, key=lambda l: l.paragraph_id):
            d = lab.to_dict()
            d.pop("annotated_at", None)  # one time for the whole run, kept in stats.json
            fh.write(json.dumps(d, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")

    stats = {
        "about": "Silver labels from keyword labelling functions (src/vistance/labels/silver.py). Never gold, never evaluation.",
        "lf_version": LF_VERSION, "annotator": ANNOTATOR, "generated_at": now,
        "corpus": corpus, "file": target.name, "limit": args.limit,
        "units": info["units"], "labelled": info["labelled"], "coverage": info["coverage"],
        "silver_label_counts": {"themes": info["themes"], "tone": info["tone"]},
        "lf_coverage_on_units": info["lf_coverage"],
    }
    gp = Path(args.gold_paragraphs)
    if gp.exists() and gold_path.exists():
        rows, join = join_labels(read_paragraphs(gp), read_labels(gold_path), strict=False)
        ev = evaluate_against_gold(rows)
        dev = evaluate_against_gold([r for r in rows if is_dev_article(r["article_id"])])
        held = evaluate_against_gold([r for r in rows if not is_dev_article(r["article_id"])])
        stats["gold"] = {"paragraphs": ev["paragraphs"], "join": join, "labelled_by_silver": ev["labelled"],
                         "coverage": ev["coverage"], "dev_paragraphs": dev["paragraphs"], "heldout_paragraphs": held["paragraphs"]}
        stats["lf_vs_gold"] = {k: {"coverage": v["coverage"], "precision": v["precision"], "recall": v["recall"]}
                               for k, v in ev["per_label"].items()}
        stats["lf_vs_gold_heldout"] = {k: {"coverage": v["coverage"], "precision": v["precision"], "recall": v["recall"]}
                                       for k, v in held["per_label"].items()}
        stats["per_lf_vs_gold"] = ev["per_lf"]
        stats["per_lf_vs_gold_heldout"] = {k: {"coverage": v["coverage"], "precision": v["precision"]}
                                           for k, v in held["per_lf"].items()}
    else:
        print(f"note: gold ({gold_path}) or its paragraphs ({gp}) not found; stats.json has no lf_vs_gold", file=sys.stderr)
        stats["lf_vs_gold"] = {}
    write_json(out / "stats.json", stats)
    print(f"silver: {info['labelled']} of {info['units']} unit(s) labelled ({info['coverage']['labelled']:.1%}) -> {target}; "
          f"stats -> {out / 'stats.json'}", file=sys.stderr)
    return 0
