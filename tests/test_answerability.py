"""Bridges, lead-in lines, refusals that name what is missing, and the overview (issue 11).

All through the real core: the converted model, FAISS, the index directory's tables.
"""

from __future__ import annotations

import json

import numpy as np

from bot.config import Settings
from bot.core.answer import AnswerKind
from bot.core.answerability import (
    ANSWER_TYPES,
    FOUND,
    MISSING,
    UNKNOWN,
    Answerability,
    holds,
    segment,
)
from bot.core.engine import FEATURES, GATES, ArticleBot, RefusalRule
from bot.core.overview import is_overview
from bot.messages import CATALOGS
from bot.render.html import answer_blocks
from bot.render.text import render_answer
from embeddings.bridges import Bridges, build_tables
from embeddings.dictionary import gloss_shares, packed, unpacked
from embeddings.store import BRIDGES_FILE, MANIFEST_FILE


def _top(core: ArticleBot, question: str) -> str:
    return core.retriever.search(question, k=1)[0].passage.text


def test_romanised_names_find_their_paragraph(core: ArticleBot) -> None:
    assert "津治通" in _top(core, "What is the Jinzhitong platform?")
    assert "林宸旭" in _top(core, "Who is Lin Chen Xu?")
    assert "清朗" in _top(core, "What is the Qinglang campaign against?")
    assert "銀發" in _top(core, "How many households does the Yinfa platform cover?")


def test_lexicon_bridges_english_words_to_the_articles_words(core: ArticleBot) -> None:
    bridges = core.retriever.bridges
    assert bridges is not None
    assert "注册" in bridges.translations("regist")
    assert "网民" in bridges.translations("netizen")
    # A place abbreviation stands for its place: 京津冀 answers a question naming Hebei.
    assert "冀" in bridges.translations("hebei")


def test_a_gloss_stem_counts_for_the_share_of_a_sense_it_is() -> None:
    assert gloss_shares(["to make; to manufacture"]) == {"make": 1.0, "manufactur": 1.0}
    assert gloss_shares(["to make an effort", "to push for sth"]) == {
        "make": 0.5,
        "effort": 0.5,
        "push": 1.0,
    }
    # A single character keeps only the place it abbreviates.
    assert gloss_shares(["to hope for", "short name for Hebei"], single=True) == {"hebei": 1.0}
    shares = gloss_shares(["to surge like the tide", "to make an effort"])
    assert packed(shares) == "surg/3 like/3 tide/3 make/2 effort/2"
    assert unpacked(packed(shares)) == shares


def test_a_stems_likeliest_translation_comes_first(core: ArticleBot) -> None:
    """By share of a gloss sense times the article's use: 制作 is all of "to make", 发奋 half
    of "to make an effort". Said twice against once, 发奋 was the commonest and the one
    appended; now 制作 is, and 发奋 only where the article says it more than twice as often."""
    dictionary = core.retriever.dictionary
    assert dictionary is not None
    twice = ["他们发奋学习，再次发奋。", "他们制作了节目。"]
    tables = build_tables(twice, dictionary)
    assert [tables.words[i] for i in tables.stems["make"]] == ["制作", "发奋"]
    thrice = ["他们发奋学习，再次发奋，一直发奋。", "他们制作了节目。"]
    often = build_tables(thrice, dictionary)
    assert often.words[often.stems["make"][0]] == "发奋"
    assert Bridges(tables, twice).expanded("What did they make?") == "What did they make? 制作"


def test_tables_are_deterministic_and_persisted(core: ArticleBot, settings: Settings) -> None:
    texts = [p.lexical_text() for p in core.retriever.passages]
    dictionary = core.retriever.dictionary
    assert dictionary is not None
    first, second = build_tables(texts, dictionary), build_tables(texts, dictionary)
    assert first == second
    manifest = json.loads((settings.index_dir / MANIFEST_FILE).read_text())
    assert BRIDGES_FILE in manifest["sha256"]
    # Only the article's own slice: the dictionary is shared, kept once beside the indexes.
    assert (settings.index_dir / BRIDGES_FILE).stat().st_size < 200_000
    calibration = manifest["calibration"]
    assert 0.5 < calibration["offtopic_dense_cross"] < calibration["offtopic_dense"] < 1.0


def test_a_lead_in_line_is_quoted_with_the_paragraph_it_introduces(core: ArticleBot) -> None:
    passages = core.retriever.passages
    assert not any(p.text.rstrip().endswith(("──", "：", ":")) for p in passages)
    lead_in = next(p for p in passages if "成果豐碩──" in p.text)
    assert "深入貫徹落實" in lead_in.text
    for question in ("What is Jinxinban?", "What is the price of Bitcoin?"):
        assert not _top(core, question).startswith("近年來,天津網絡文明建設成果豐碩──")


def test_refusal_names_the_missing_term_in_the_askers_script(core: ArticleBot) -> None:
    answer = core.ask("津心办的下载地址是什么？")
    assert answer.kind is AnswerKind.NOT_COVERED
    assert answer.missing == ("下载地址",)
    assert answer.closest is not None  # still one tap away
    assert answer.to_json()["missing"] == ["下载地址"]
    english = core.ask("What is the price of Bitcoin?")
    assert english.kind is AnswerKind.NOT_COVERED
    assert "Bitcoin" in english.missing


def test_refusals_render_the_missing_term(core: ArticleBot) -> None:
    answer = core.ask("津心办的下载地址是什么？")
    text = render_answer(answer, CATALOGS["zh-Hans"])
    assert text.startswith("这篇文章没有提到「下载地址」。")
    blocks = answer_blocks(answer, CATALOGS["en"])
    assert blocks[0] == "The article does not mention “下载地址”."


def test_answerable_questions_are_not_refused_for_their_wording(core: ArticleBot) -> None:
    questions = ("津心办有多少注册用户？", "How many registered users does the Jinxinban app have?")
    for question in questions:
        answer = core.ask(question)
        assert answer.kind is AnswerKind.ANSWER, (question, answer.missing)
        assert "1880萬" in answer.quotes[0].passage.text


def test_questions_about_the_whole_article_get_the_overview(core: ArticleBot) -> None:
    for question in ("这篇文章讲了什么？", "What is this article about?", "有哪些部分？"):
        answer = core.ask(question)
        assert answer.kind is AnswerKind.OVERVIEW, question
        assert answer.quotes[0].passage == core.retriever.passages[0]
        assert answer.to_json()["kind"] == "overview"
    text = render_answer(core.ask("What is this article about?"), CATALOGS["en"])
    assert all(section.heading in text for section in core.article.sections)


def test_questions_about_one_part_are_searched_not_overviewed() -> None:
    assert not is_overview("成风化人这部分讲了什么？")
    assert not is_overview("What does the article say about Jinxinban?")
    assert is_overview("這篇文章主要講了什麼？")


def _checker(core: ArticleBot) -> Answerability:
    assert core.answerability is not None
    return core.answerability


def test_a_term_nothing_could_look_up_is_unknown_not_missing(core: ArticleBot) -> None:
    """A name no dictionary lists and no sound-alike matches is no proof of absence."""
    checker = _checker(core)
    assert checker.status("zorblaxian", "Zorblaxian") == UNKNOWN
    assert checker.status("bitcoin", "Bitcoin") == MISSING  # the dictionary knows 比特币
    assert checker.status("比特币", "比特币") == MISSING
    assert checker.status("网民", "网民") == FOUND


def test_numbers_are_found_in_any_spelling(core: ArticleBot) -> None:
    checker = _checker(core)
    assert "第七" in checker.article
    assert checker.status("vii", "VII") == FOUND  # Roman numeral ~ 第七
    assert checker.status("seventh", "seventh") == FOUND
    assert checker.status("1880", "1880") == FOUND  # written 1880萬
    assert checker.status("18800000", "18800000") == FOUND  # the same, scaled by 萬
    assert checker.status("4711", "4711") == MISSING
    # A number with its English scale word is one term: 18.8 million ~ 1880萬.
    evidence = checker.evidence("Does Jinxinban have 18.8 million registered users?", "")
    assert not any("18" in term for term in evidence.missing)
    assert checker.status("18.8 million", "18.8 million") == FOUND
    assert "12 million" in checker.evidence("Does it have 12 million users?", "").missing


def test_chinese_questions_are_split_into_words_not_windows(core: ArticleBot) -> None:
    checker = _checker(core)
    words = [w for _, w in segment("哪家公司开发的", checker.words, "")]
    assert "家公" not in words and "公司" in words
    words = [w for _, w in segment("活动中美国代表", checker.words, "")]
    assert "中美" not in words and "美国" in words
    # Read from the end alone, these cut across a boundary (文/明和, 建/设有, 玩/家用): the
    # reading whose words the article holds wins.
    article = checker.article
    words = [w for _, w in segment("网络文明和社会主义精神文明是什么关系", checker.words, article)]
    assert "明和" not in words
    words = [w for _, w in segment("网络文明建设有哪些成果", checker.words, article)]
    assert "设有" not in words
    words = [w for _, w in segment("玩家用什么泡封敌人", checker.words, "玩家可以吹出泡泡封住敌人")]
    assert "家用" not in words and "玩家" in words
    evidence = checker.evidence("津治通是什么时候上线的？", "")
    assert not any("什么" in term for term in evidence.missing)
    # 何时, 何处 ask as 什么时候 and 哪里 do: never a missing term.
    for question in ("津治通何时上线？", "网络文明大会在何处举办？"):
        assert not any("何" in term for term in checker.evidence(question, "").missing)


def test_money_in_any_currency_holds_a_price() -> None:
    assert holds("money", "门票为每人15英镑")
    assert holds("money", "售价约3000日元")
    assert not holds("money", "大会在天津开幕")
    assert holds(None, "anything")  # nothing asked for: nothing to check


def test_a_phone_number_a_head_count_and_a_rate_need_their_own_shape() -> None:
    """Any numeral answers "how many"; it does not answer these three."""
    wants = Answerability.wanted
    assert wants("津心办的客服电话是多少？") == "phone"
    assert wants("銀髮平台的客服熱線是多少？") == "phone"
    assert wants("What is the hotline's number?") == "phone"
    assert wants("2022年网络文明大会有多少人参加？") == "headcount"
    assert wants("How many people attended the conference?") == "headcount"
    assert wants("天津有多少人口？") == wants("What's the population of Tianjin?") == "population"
    assert wants("天津的面积有多大？") == wants("How big is it in square kilometres?") == "area"
    assert wants("In what area of science did he work?") is None
    assert wants("大会是几月几号开幕的？") == wants("On what date did it open?") == "day"
    assert holds("day", "5月20日开幕") and holds("day", "每逢周六举行")
    assert not holds("day", "今日在津隆重启幕") and not holds("day", "2022年大会在天津举行")
    assert wants("天津今年的GDP增長了多少？") == "rate"
    assert wants("What percentage of residents use the app?") == "rate"
    assert holds("phone", "市民可拨打12345热线") and holds("phone", "电话：022-23456789")
    assert not holds("phone", "2022年中国网络文明大会") and not holds("phone", "共有10000人")
    assert holds("headcount", "吸引了三万余名观众") and holds("headcount", "参会人数超过2000人")
    assert not holds("headcount", "2022年大会在天津举行")
    assert holds("rate", "同比增长5.2%") and holds("rate", "增长百分之五")
    assert not holds("rate", "2022年大会在天津举行")
    assert holds("population", "常住人口1373万") and holds("population", "居住着约三百万人")
    assert not holds("population", "2022年大会在天津举行")
    assert holds("area", "面积11966平方公里") and not holds("area", "2022年大会在天津举行")


def test_a_post_holder_and_a_download_place_need_their_own_shape() -> None:
    """"Who is the director" is answered by a passage naming the post, "where can I
    download it" by a link, a store or a download place."""
    wants = Answerability.wanted
    assert wants("Who is the director of the cyberspace office?") == "post"
    assert wants("天津的网信办主任是谁？") == wants("谁是天津市委书记？") == "post"
    assert wants("Who is the main character?") is None and wants("谁发明了纸？") is None
    assert holds("post", "市委网信办主任王某表示") and holds("post", "该公司由他创办")
    assert not holds("post", "网信办开展网络文明活动")
    assert wants("津心办APP在哪里下载？") == wants("Where can I download the app?") == "address"
    assert wants("How many people downloaded the app?") == "headcount"
    assert holds("address", "可在各大应用商店下载") and holds("address", "扫描二维码即可使用")
    assert not holds("address", "津心办上线清明专区")


def test_a_word_is_not_an_answer_type_in_another_sense() -> None:
    """The Ice Age asks for no age, an electric charge for no price."""
    wants = Answerability.wanted
    assert wants("What is Lin Chenxu's age?") == wants("What is Lin Chenxu’s age?") == "age"
    assert wants("At what age did he retire?") == "age"
    assert wants("Where did the glaciers' water go in the last Ice Age?") is None
    assert wants("What force acts on a moving charge?") is None
    assert wants("What is the time rate of change of electric charge?") is None
    assert wants("How much do they charge for a ticket?") == "money"
    assert wants("Is there a charge for parking?") == "money"


def test_a_missing_type_or_a_swapped_name_refuses_whatever_the_scores() -> None:
    lenient = RefusalRule((0.0,) * len(FEATURES), -100.0, 0.0)
    assert not lenient.refuses(np.zeros(len(FEATURES)))
    assert [FEATURES[i] for i in GATES] == ["no_type", "swapped"]
    for gate in GATES:
        features = np.zeros(len(FEATURES))
        features[gate] = 1.0
        assert lenient.refuses(features) and lenient.margin(features) == np.inf


def test_a_name_swapped_in_the_articles_own_phrase_is_refused(core: ArticleBot) -> None:
    """The article is about 2022年中国网络文明大会 in 天津: the same phrase with another year or
    another city asks about something else, and the refusal names what it swapped in."""
    for question, swapped in (
        ("2024年中国网络文明大会有什么活动？", "2024"),
        ("深圳的数字化发展水平怎么样？", "深圳"),
    ):
        answer = core.ask(question)
        assert answer.kind is AnswerKind.NOT_COVERED, question
        assert swapped in answer.missing
        assert core.answerability is not None
        assert core.answerability.evidence(question, "").swapped
    # The article's own names in its own phrase are no swap.
    assert not core.answerability.evidence("2022年中国网络文明大会在哪里开幕？", "").swapped


def test_a_refusal_for_a_missing_type_names_the_type(core: ArticleBot) -> None:
    """The article has the platform and no price for it: nothing in the question is missing,
    but what it asks for is, and the refusal says which."""
    answer = core.ask("How much does it cost to join the silver-haired service platform?")
    assert answer.kind is AnswerKind.NOT_COVERED
    assert answer.missing == () and answer.absent == "money"
    assert answer.to_json()["absent"] == "money"
    assert render_answer(answer, CATALOGS["en"]).startswith(
        "The article does not give a price or an amount of money."
    )
    assert answer_blocks(answer, CATALOGS["zh-Hant"])[0] == "這篇文章沒有給出價格或金額。"
    # Terms the article lacks are named first, as before.
    assert core.ask("津心办的下载地址是什么？").missing == ("下载地址",)


def test_every_answer_type_is_named_in_every_catalog(core: ArticleBot) -> None:
    """A refusal for a missing type says which type, in each language: a type the catalogs
    do not name would fall back to "does not cover this"."""
    types = set(ANSWER_TYPES)
    for kind in types:  # each has the shape that answers it
        assert not holds(kind, "")
    for language in CATALOGS:
        assert set(CATALOGS[language].answer_types) == types, language
    answer = core.ask("What's the population of Tianjin?")
    assert answer.kind is AnswerKind.NOT_COVERED and answer.absent == "population"
    assert render_answer(answer, CATALOGS["en"]).startswith(
        "The article does not give a population."
    )
