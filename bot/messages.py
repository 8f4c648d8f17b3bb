"""Every sentence the bot itself says, written once, for the console and Telegram alike.

The article's own words are quoted, never written here; these are the bot's words around
them. A field per message in a frozen dataclass, so a catalog that lacks a message fails at
import, not in front of a reader. Placeholders are ``str.format`` fields; the renderers
fill them with plain text (console) or escaped HTML (Telegram), so markup never lives here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Messages:
    # Answers, in both adapters.
    converted: str
    read_with_previous: str  # {question}
    start_afresh: str
    greeting: str  # {title}
    empty: str
    empty_example: str  # {example}
    too_long: str  # {limit}
    not_covered: str
    not_mentioned: str  # {terms}: a refusal naming the question's terms the article lacks
    not_given: str  # {what}: a refusal whose closest passage holds no answer of the type asked
    # The answer types of bot.core.answerability, named for not_given's {what}.
    answer_types: dict[str, str]
    term: str  # {term}: one missing term, quoted
    term_separator: str
    overview: str  # above the lead paragraph, for "what is this article about?"
    closest_in: str  # {where} {strength}: the console's refusal
    closest_at: str  # {position} {total} {place} {strength}: Telegram's refusal
    see_sections: str
    more_sections: str  # {count}: sections left out of a list cut to one message
    closest_shown: str  # {strength}
    next_best: str  # {rank} {count}
    no_more: str
    first_paragraph: str
    last_paragraph: str
    match_fair: str
    match_weak: str
    match_very_weak: str
    # Article structure.
    introduction: str
    paragraph: str  # {position}
    paragraph_of: str  # {position} {total}
    sections: str
    no_sections: str
    section_usage: str  # {count}
    no_such_section: str  # {number} {count}
    # Conversation and feedback.
    new_conversation: str
    thanks: str
    feedback_off: str
    feedback_failed: str
    ask_first: str
    walk_first: str
    vote_first: str
    nothing_more: str
    unknown_command: str  # {command}
    bye: str
    still_loading: str
    console_help: str
    # The shelf of articles (/articles, /use N): in both adapters.
    article_attribution: str  # {title}: which article a quote is from, in the attribution line
    shelf_intro: str  # {count}
    articles_heading: str
    article_line: str  # {number} {title} {date} {paragraphs}
    article_line_undated: str  # {number} {title} {paragraphs}
    articles_page: str  # {page} {pages} {count}: /articles over several pages
    articles_more: str  # {next}: the console's way to the next page
    articles_chosen: str  # {title}
    articles_all: str
    use_usage: str  # {count}
    use_chosen: str  # {title}
    use_all: str  # {count}
    # /about.
    about_title: str
    about_source: str
    about_date: str
    about_paragraphs: str
    about_paragraph_count: str  # {paragraphs} {sections}
    about_hash: str
    about_model: str
    about_model_value: str  # {model}
    unknown: str
    # Telegram only.
    start: str  # {title}
    start_more: str
    invitation: str
    invitation_example: str  # {example}
    help_asking: str
    help_commands: str
    help_buttons: str
    help_inline: str
    ask_usage: str
    ask_usage_example: str  # {example}
    non_text: str  # {kind}
    attachments: dict[str, str]  # message attribute -> what it is, in words
    attachment_other: str
    too_fast: str  # {limit}
    too_fast_inline: str  # {limit}
    apology: str
    expired: str
    not_allowed: str
    button_previous_paragraph: str
    button_section: str
    button_next_paragraph: str
    button_more: str
    button_show_anyway: str
    button_previous_page: str
    button_next_page: str
    commands: dict[str, str]  # command -> its line in Telegram's menu
    button_all_articles: str
    admins_only: str
    upload_wrong_type: str  # {suffixes}
    upload_too_big: str  # {limit}
    upload_indexing: str  # {name}
    upload_done: str  # {title} {paragraphs} {count}
    upload_failed: str  # {name} {why}
    upload_unreadable: str  # the why: the file is not an article the bot can read
    upload_download_failed: str  # the why: Telegram did not hand the file over
    upload_empty: str  # the why: an empty file
    upload_utf16: str  # the why: UTF-16 text (with or without a byte-order mark)
    upload_gbk: str  # the why: GBK / GB18030 text
    upload_not_utf8: str  # the why: text in another encoding
    upload_binary: str  # the why: not text at all
    upload_title_too_long: str  # {limit}: the why
    upload_too_many_paragraphs: str  # {limit}: the why
    reloaded: str  # {added} {updated} {removed} {failed} {count}
    shelf_busy: str  # an upload or /reload waits for the indexing in progress
    indexing_at_start: str  # {names}: to admins, folder articles indexed after the start
    language_usage: str
    language_set: str
    language_follow: str
    button_follow_language: str


EN = Messages(
    converted="Quoted in Simplified Chinese, converted from the original.",
    read_with_previous="Read together with your previous question: {question}",
    start_afresh="/new starts afresh",
    greeting=(
        "Hello! Ask me anything about {title}, in Chinese or English: I answer by quoting "
        "it. /sections shows what it covers."
    ),
    empty="Please type a question in words.",
    empty_example="Please type a question in words, for example: {example}",
    too_long="That question is too long: please keep it under {limit} characters.",
    not_covered="The article does not cover this.",
    not_mentioned="The article does not mention {terms}.",
    not_given="The article does not give {what}.",
    answer_types={
        "age": "an age",
        "money": "a price or an amount of money",
        "ordinal": "a rank",
        "population": "a population",
        "area": "an area",
        "phone": "a phone number",
        "post": "the holder of that post",
        "headcount": "a number of people",
        "rate": "a rate or a percentage",
        "number": "a number",
        "day": "a day",
        "date": "a date",
        "address": "a web address or where to download it",
    },
    term="“{term}”",
    term_separator=", ",
    overview="What the article is about: its opening paragraph, then its sections.",
    closest_in="The closest passage is in {where} ({strength}); /more shows it anyway.",
    closest_at=(
        "The closest passage is paragraph {position} of {total}, in {place}: a {strength}. "
        "Show it anyway quotes it."
    ),
    see_sections="See what it covers: /sections",
    more_sections="…and {count} more sections: /sections lists them all.",
    closest_shown="Closest passage ({strength}), shown anyway:",
    next_best="Next best passage ({rank} of {count}):",
    no_more="No more passages.",
    first_paragraph="That is the first paragraph.",
    last_paragraph="That is the last paragraph.",
    match_fair="fair match",
    match_weak="weak match",
    match_very_weak="very weak match",
    introduction="Introduction",
    paragraph="paragraph {position}",
    paragraph_of="Paragraph {position} of {total}",
    sections="Sections:",
    no_sections="This article has no sections.",
    section_usage="Usage: /section N, where N is 1 to {count}.",
    no_such_section="There is no section {number}: choose 1 to {count}.",
    new_conversation="New conversation: your next question is read on its own.",
    thanks="Thanks for the feedback.",
    feedback_off="Feedback is not available right now; answers go on.",
    feedback_failed="Feedback could not be saved right now; answers go on.",
    ask_first="Ask a question first.",
    walk_first="Ask a question first; then /prev and /next walk through the article.",
    vote_first="Ask a question first; then rate the answer.",
    nothing_more="There is nothing more to show.",
    unknown_command="Unknown command {command}.",
    bye="Bye.",
    still_loading="(The model is still loading: your question is answered as soon as it is ready.)",
    console_help="""Ask a question about the article, in Chinese or English.
Commands:
  /more         the next best passage (or the closest one, after "not covered")
  /prev /next   the paragraph before or after the one shown
  /section [N]  section N, or the section of the paragraph shown
  /sections     list the sections
  /good /bad    rate the last answer
  /new          start a new conversation (forget the previous question)
  /about        what this article is
  /articles [N] the articles on the shelf (page N)
  /use N        answer from article N only; /use all searches every article again
  /help         this text
  /quit         leave (end of input works too)""",
    article_attribution="“{title}”",
    shelf_intro="{count} articles on the shelf: questions search them all. /articles lists them.",
    articles_heading="Articles on the shelf:",
    article_line="{number}. {title} — {date}, {paragraphs} paragraphs",
    article_line_undated="{number}. {title} — {paragraphs} paragraphs",
    articles_page="Page {page} of {pages} ({count} articles).",
    articles_more="/articles {next} shows the next page.",
    articles_chosen="Questions go to “{title}”; /use all searches every article.",
    articles_all="Questions search every article; /use N asks only article N.",
    use_usage="Usage: /use N, with N from 1 to {count}; /use all searches every article.",
    use_chosen="Now answering from “{title}”.",
    use_all="Now searching all {count} articles.",
    about_title="Title",
    about_source="Source",
    about_date="Date",
    about_paragraphs="Paragraphs",
    about_paragraph_count="{paragraphs} in {sections} sections",
    about_hash="Content hash",
    about_model="Model",
    about_model_value="{model} (dense) + BM25 (lexical)",
    unknown="unknown",
    start=(
        "I answer questions about {title} by quoting the paragraph that answers, with its "
        "section, so you can check it."
    ),
    start_more="/sections lists what the article covers; /help shows all commands.",
    invitation="Ask in Chinese or English, or tap a section below to read it.",
    invitation_example=(
        "Ask in Chinese or English, for example:\n{example}\nor tap a question below."
    ),
    help_asking=(
        "Send a question as a message (in groups: /ask question, mention me, or reply to "
        "me). A short follow-up such as “那它呢？” or “and what about it?” is read with "
        "your previous question."
    ),
    help_commands=(
        "/sections — the sections\n/section N — read section N\n"
        "/new — new conversation (forget the previous question)\n"
        "/about — the article and the model\n/articles — the articles I answer from\n"
        "/language — the language of replies"
    ),
    help_buttons=(
        "Under an answer: ⬅ Paragraph and Paragraph ➡ walk through the article, Section "
        "shows the whole section, More the next best passage, and 👍/👎 rate the answer. "
        "When the article does not cover a question, Show it anyway quotes the closest "
        "passage."
    ),
    help_inline="In any chat, type my @username and a question to share a quote.",
    ask_usage="Usage: /ask your question",
    ask_usage_example="Usage: /ask your question, e.g. /ask {example}",
    non_text="I can only read text questions, not {kind}. Please type your question about the article.",  # noqa: E501
    attachments={
        "sticker": "stickers",
        "photo": "photos",
        "voice": "voice messages",
        "video_note": "video messages",
        "video": "videos",
        "audio": "audio files",
        "animation": "GIFs",
        "document": "files",
        "venue": "places",
        "location": "locations",
        "contact": "contacts",
        "poll": "polls",
    },
    attachment_other="this",
    too_fast=(
        "You are asking faster than I can read: at most {limit} questions a minute. "
        "Please wait a moment."
    ),
    too_fast_inline="Too many questions: at most {limit} a minute",
    apology="Sorry, something went wrong while answering. Please try again.",
    expired="This button has expired. Please ask your question again.",
    not_allowed="Sorry, this bot answers only in the chats it was set up for.",
    button_previous_paragraph="⬅ Paragraph",
    button_section="Section",
    button_next_paragraph="Paragraph ➡",
    button_more="More ➡",
    button_show_anyway="Show it anyway",
    button_previous_page="⬅ Previous",
    button_next_page="Next ➡",
    commands={
        "start": "What this bot is",
        "help": "How to ask",
        "sections": "The article's sections",
        "section": "Read a section: /section 2",
        "new": "New conversation: forget the previous question",
        "about": "The article and the model",
        "ask": "Ask in a group: /ask your question",
        "language": "Choose the language of replies",
        "articles": "The articles I answer from",
    },
    button_all_articles="All articles",
    admins_only="Only the bot's admins can do that.",
    upload_wrong_type="An article must be a {suffixes} file; nothing was added.",
    upload_too_big="That file is over {limit} bytes, the limit for an article; nothing was added.",
    upload_indexing="Reading and indexing {name}… (the shelf keeps answering meanwhile)",
    upload_done="On the shelf: “{title}”, {paragraphs} paragraphs. The shelf holds {count}.",
    upload_failed="{name} could not go on the shelf: {why}. Nothing on the shelf changed.",
    upload_unreadable="it could not be read as an article (plain text or Markdown with a title)",
    upload_download_failed="the file could not be downloaded from Telegram",
    upload_empty="the file is empty",
    upload_utf16="it is UTF-16 text: re-save it as UTF-8 and send it again",
    upload_gbk="it is GBK (GB18030) text: re-save it as UTF-8 and send it again",
    upload_not_utf8="it is not UTF-8 text: re-save it as UTF-8 and send it again",
    upload_binary="it is not a text file: send plain text or Markdown, saved as UTF-8",
    upload_title_too_long="its title is over {limit} characters: shorten it and send it again",
    upload_too_many_paragraphs=(
        "it has over {limit} paragraphs, the ceiling for one article: split it into several"
    ),
    reloaded=(
        "Reloaded: {added} added, {updated} updated, {removed} removed, {failed} failed. "
        "The shelf holds {count}."
    ),
    shelf_busy="Another article is being indexed: this starts as soon as it is done.",
    indexing_at_start=(
        "Started without {names}: not indexed yet. Indexing now; the shelf answers meanwhile."
    ),
    language_usage="Replies follow the script you ask in. To fix the language, choose:",
    language_set="Done: replies are in English from now on.",
    language_follow="Done: replies follow the script you ask in.",
    button_follow_language="Follow my question",
)


ZH_HANS = Messages(
    converted="引文已由原文转换为简体中文。",
    read_with_previous="与你的上一个问题一起理解：{question}",
    start_afresh="/new 重新开始",
    greeting=(
        "你好！关于{title}，用中文或英文问我都可以：我会引用原文回答。"
        "/sections 查看文章的各个部分。"
    ),
    empty="请用文字输入问题。",
    empty_example="请用文字输入问题，例如：{example}",
    too_long="问题太长了：请控制在 {limit} 个字符以内。",
    not_covered="这篇文章没有谈到这个问题。",
    not_mentioned="这篇文章没有提到{terms}。",
    not_given="这篇文章没有给出{what}。",
    answer_types={
        "age": "年龄",
        "money": "价格或金额",
        "ordinal": "名次",
        "population": "人口数",
        "area": "面积",
        "phone": "电话号码",
        "post": "该职务的担任者",
        "headcount": "人数",
        "rate": "比例或百分比",
        "number": "数字",
        "day": "具体日子",
        "date": "日期",
        "address": "网址或下载渠道",
    },
    term="「{term}」",
    term_separator="、",
    overview="这篇文章讲的内容：开头一段，以及各部分的标题。",
    closest_in="最接近的段落在 {where}（{strength}）；/more 仍可查看。",
    closest_at=(
        "最接近的是第 {position} 段（共 {total} 段），在 {place}：{strength}。点「仍然显示」查看。"
    ),
    see_sections="看看文章谈了什么：/sections",
    more_sections="……另有 {count} 个部分：/sections 列出全部。",
    closest_shown="最接近的段落（{strength}），仍然显示：",
    next_best="下一个相关段落（{rank}/{count}）：",
    no_more="没有更多段落了。",
    first_paragraph="这已经是第一段。",
    last_paragraph="这已经是最后一段。",
    match_fair="匹配度一般",
    match_weak="匹配度较弱",
    match_very_weak="匹配度很弱",
    introduction="导语",
    paragraph="第 {position} 段",
    paragraph_of="第 {position} 段，共 {total} 段",
    sections="各部分：",
    no_sections="这篇文章没有分部分。",
    section_usage="用法：/section N，N 为 1 到 {count}。",
    no_such_section="没有第 {number} 部分：请选择 1 到 {count}。",
    new_conversation="新对话：你的下一个问题将单独理解。",
    thanks="谢谢你的反馈。",
    feedback_off="暂时无法使用反馈；回答照常进行。",
    feedback_failed="反馈暂时无法保存；回答照常进行。",
    ask_first="请先提一个问题。",
    walk_first="请先提一个问题；之后可用 /prev 和 /next 前后翻阅文章。",
    vote_first="请先提一个问题，再为回答评分。",
    nothing_more="没有更多可显示的内容。",
    unknown_command="未知命令 {command}。",
    bye="再见。",
    still_loading="（模型仍在加载：准备好后马上回答你的问题。）",
    console_help="""用中文或英文提出关于这篇文章的问题。
命令：
  /more         下一个相关段落（或在“没有谈到”之后显示最接近的段落）
  /prev /next   当前段落的前一段或后一段
  /section [N]  第 N 部分，或当前段落所在的部分
  /sections     列出各部分
  /good /bad    为上一个回答评分
  /new          开始新对话（忘记上一个问题）
  /about        这篇文章的信息
  /articles [N] 列出书架上的文章（第 N 页）
  /use N        只从第 N 篇文章回答；/use all 重新搜索全部文章
  /help         本说明
  /quit         退出（输入结束也可以）""",
    article_attribution="《{title}》",
    shelf_intro="书架上有 {count} 篇文章：问题会在全部文章中搜索。/articles 列出它们。",
    articles_heading="书架上的文章：",
    article_line="{number}. {title}——{date}，{paragraphs} 段",
    article_line_undated="{number}. {title}——{paragraphs} 段",
    articles_page="第 {page} 页，共 {pages} 页（{count} 篇文章）。",
    articles_more="/articles {next} 显示下一页。",
    articles_chosen="问题只在《{title}》中搜索；/use all 搜索全部文章。",
    articles_all="问题在全部文章中搜索；/use N 只问第 N 篇。",
    use_usage="用法：/use N，N 为 1 到 {count}；/use all 搜索全部文章。",
    use_chosen="现在只从《{title}》回答。",
    use_all="现在搜索全部 {count} 篇文章。",
    about_title="标题",
    about_source="来源",
    about_date="日期",
    about_paragraphs="段落",
    about_paragraph_count="{paragraphs} 段，{sections} 个部分",
    about_hash="内容哈希",
    about_model="模型",
    about_model_value="{model}（向量）+ BM25（词汇）",
    unknown="未知",
    start="我回答关于{title}的问题：引用回答问题的段落并注明所在部分，方便你核对。",
    start_more="/sections 列出文章的各个部分；/help 显示全部命令。",
    invitation="可以用中文或英文提问，也可以点下面的部分来阅读。",
    invitation_example="可以用中文或英文提问，例如：\n{example}\n或者点下面的问题。",
    help_asking=(
        "直接发送问题即可（在群组中：/ask 问题、提及我，或回复我的消息）。"
        "像“那它呢？”这样的简短追问会与你的上一个问题一起理解。"
    ),
    help_commands=(
        "/sections — 各部分\n/section N — 阅读第 N 部分\n"
        "/new — 新对话（忘记上一个问题）\n/about — 文章和模型\n/articles — 我能回答的文章\n"
        "/language — 选择语言"
    ),
    help_buttons=(
        "回答下方：「⬅ 上一段」和「下一段 ➡」前后翻阅，「本部分」显示整个部分，"
        "「更多 ➡」显示下一个相关段落，👍/👎 为回答评分。文章没有谈到的问题，"
        "「仍然显示」会引用最接近的段落。"
    ),
    help_inline="在任何聊天中输入我的 @用户名 和问题，即可分享引文。",
    ask_usage="用法：/ask 你的问题",
    ask_usage_example="用法：/ask 你的问题，例如 /ask {example}",
    non_text="我只能读文字问题，读不了{kind}。请输入你关于这篇文章的问题。",
    attachments={
        "sticker": "贴纸",
        "photo": "图片",
        "voice": "语音消息",
        "video_note": "视频消息",
        "video": "视频",
        "audio": "音频文件",
        "animation": "动图",
        "document": "文件",
        "venue": "地点",
        "location": "位置",
        "contact": "联系人",
        "poll": "投票",
    },
    attachment_other="这个",
    too_fast="你问得比我读得还快：每分钟最多 {limit} 个问题。请稍等。",
    too_fast_inline="问题太多：每分钟最多 {limit} 个",
    apology="抱歉，回答时出了问题。请再试一次。",
    expired="这个按钮已过期。请重新提问。",
    not_allowed="抱歉，这个机器人只在设定的聊天中回答。",
    button_previous_paragraph="⬅ 上一段",
    button_section="本部分",
    button_next_paragraph="下一段 ➡",
    button_more="更多 ➡",
    button_show_anyway="仍然显示",
    button_previous_page="⬅ 上一页",
    button_next_page="下一页 ➡",
    commands={
        "start": "这个机器人是做什么的",
        "help": "如何提问",
        "sections": "文章的各个部分",
        "section": "阅读一个部分：/section 2",
        "new": "新对话：忘记上一个问题",
        "about": "文章和模型",
        "ask": "在群组中提问：/ask 你的问题",
        "language": "选择语言",
        "articles": "我能回答的文章",
    },
    button_all_articles="全部文章",
    admins_only="只有机器人的管理员可以这样做。",
    upload_wrong_type="文章必须是 {suffixes} 文件；没有添加任何内容。",
    upload_too_big="这个文件超过 {limit} 字节，超出了文章的大小上限；没有添加任何内容。",
    upload_indexing="正在读取并索引 {name}……（其间照常回答问题）",
    upload_done="已上架：《{title}》，共 {paragraphs} 段。书架上现有 {count} 篇。",
    upload_failed="{name} 无法上架：{why}。书架上的内容没有任何变化。",
    upload_unreadable="无法作为文章读取（需要带标题的纯文本或 Markdown）",
    upload_download_failed="无法从 Telegram 下载这个文件",
    upload_empty="文件是空的",
    upload_utf16="这是 UTF-16 编码的文本：请另存为 UTF-8 后重新发送",
    upload_gbk="这是 GBK（GB18030）编码的文本：请另存为 UTF-8 后重新发送",
    upload_not_utf8="这不是 UTF-8 编码的文本：请另存为 UTF-8 后重新发送",
    upload_binary="这不是文本文件：请发送以 UTF-8 保存的纯文本或 Markdown",
    upload_title_too_long="标题超过 {limit} 个字符：请缩短标题后重新发送",
    upload_too_many_paragraphs="段落超过 {limit} 段，超出了单篇文章的上限：请拆分成几篇",
    reloaded=(
        "已重新载入：新增 {added}，更新 {updated}，移除 {removed}，失败 {failed}。"
        "书架上现有 {count} 篇。"
    ),
    shelf_busy="另一篇文章正在索引：它一完成，这项操作就开始。",
    indexing_at_start="启动时 {names} 尚未建立索引，暂未上架；正在后台索引，其间照常回答问题。",
    language_usage="回答的语言默认跟随你提问的文字。要固定语言，请选择：",
    language_set="好的：从现在起用简体中文回答。",
    language_follow="好的：回答的语言将跟随你提问的文字。",
    button_follow_language="跟随我的提问",
)


def _traditional(catalog: Messages) -> Messages:
    """The Traditional catalog, converted from the Simplified one: one source, two scripts."""
    from embeddings.normalize import to_traditional

    def convert(value: object) -> object:
        if isinstance(value, str):
            return to_traditional(value)
        if isinstance(value, dict):
            return {k: to_traditional(v) for k, v in value.items()}
        return value

    fields = {f.name: convert(getattr(catalog, f.name)) for f in dataclasses.fields(catalog)}
    fields["language_set"] = "好的：從現在起用繁體中文回答。"
    return Messages(**fields)  # type: ignore[arg-type]


@cache
def _zh_hant() -> Messages:
    return _traditional(ZH_HANS)


class _Catalogs(Mapping[str, Messages]):
    """The catalogs by language; the Traditional one is converted when first read, not at
    import, where OpenCC's pass over every sentence cost each start 80 ms."""

    def __getitem__(self, language: str) -> Messages:
        if language == "zh-Hant":
            return _zh_hant()
        return {"en": EN, "zh-Hans": ZH_HANS}[language]

    def __iter__(self) -> Iterator[str]:
        return iter(("en", "zh-Hans", "zh-Hant"))

    def __len__(self) -> int:
        return 3


CATALOGS: Mapping[str, Messages] = _Catalogs()


def __getattr__(name: str) -> Messages:
    """``ZH_HANT``, converted on first use like ``CATALOGS["zh-Hant"]``."""
    if name == "ZH_HANT":
        return _zh_hant()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


LANGUAGE_NAMES = {"en": "English", "zh-Hans": "简体中文", "zh-Hant": "繁體中文"}


def language_of(question: str) -> str:
    """The reply language a question asks for, by its script: zh-Hans, zh-Hant or en.

    An English question may name a Chinese term ("What is 津心辦?"): see
    :func:`embeddings.normalize.written_in_english`.
    """
    from embeddings.normalize import script_of, written_in_english

    if written_in_english(question):
        return "en"
    return {"hans": "zh-Hans", "hant": "zh-Hant"}.get(script_of(question), "en")


def language_from_code(code: str | None) -> str | None:
    """A catalog for a client's IETF language tag (Telegram's ``language_code``), if any."""
    if not code:
        return None
    tag = code.lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh-Hant" if tag in {"zh-tw", "zh-hk", "zh-mo", "zh-hant"} else "zh-Hans"
    return "en" if tag.startswith("en") else None


# The language every reply falls back to.
DEFAULT = EN
