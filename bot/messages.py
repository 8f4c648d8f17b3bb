"""Every sentence the bot itself says, written once, for the console and Telegram alike.

The article's own words are quoted, never written here; these are the bot's words around
them. A field per message in a frozen dataclass, so a catalog that lacks a message fails at
import, not in front of a reader. Placeholders are ``str.format`` fields; the renderers
fill them with plain text (console) or escaped HTML (Telegram), so markup never lives here.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    closest_in: str  # {where} {strength}: the console's refusal
    closest_at: str  # {position} {total} {place} {strength}: Telegram's refusal
    see_sections: str
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
    console_help: str
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
    closest_in="The closest passage is in {where} ({strength}); /more shows it anyway.",
    closest_at=(
        "The closest passage is paragraph {position} of {total}, in {place}: a {strength}. "
        "Show it anyway quotes it."
    ),
    see_sections="See what it covers: /sections",
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
    console_help="""Ask a question about the article, in Chinese or English.
Commands:
  /more         the next best passage (or the closest one, after "not covered")
  /prev /next   the paragraph before or after the one shown
  /section [N]  section N, or the section of the paragraph shown
  /sections     list the sections
  /good /bad    rate the last answer
  /new          start a new conversation (forget the previous question)
  /about        what this article is
  /help         this text
  /quit         leave (end of input works too)""",
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
        "/about — the article and the model"
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
    },
)

# The language every reply falls back to.
DEFAULT = EN
