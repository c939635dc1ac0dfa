"""Deterministic generator of the embedded data sets (stdlib only). It is a build step, not part of
the installed package: nothing imports it at run time.

    python -m tools.builtin_data      # rewrites instructrl/data/builtin/{instructions,pretrain}.jsonl

Every prompt, answer and paragraph comes from the templates in this file and the word banks in
``tools/word_banks.py``, written for this project: nothing is copied from a public data set or fetched
from the network. A seeded ``random.Random`` picks the combinations, so the same code always writes the
same bytes (a unit test regenerates both files and compares them with the committed copies).

instructions.jsonl holds ``Demonstration`` rows whose categories follow the paper's use-case shares
(``CATEGORY_SHARES``); more than half carry machine-checkable ``Constraints`` stated in the prompt, and
every answer satisfies its own constraints (checked here before anything is written). pretrain.jsonl
holds ``PretrainText`` paragraphs of 60-200 words (encyclopedia entries, how-tos, stories, letters,
diary entries) for the ptx loss.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from instructrl.data.constraints import constraint_score, count_sentences, count_words
from instructrl.data.schemas import CATEGORY_SHARES, Constraints, Demonstration, PretrainText, Prompt
from tools.word_banks import (
    ANIMAL_CLOSINGS,
    ANIMALS,
    ANTONYMS,
    BLOG_IDEAS,
    BRAINSTORM_PROMPTS,
    BRAINSTORM_THEMES,
    BUILDINGS,
    BUSINESSES,
    CARD_MESSAGES,
    CELSIUS_TO_F,
    CHILD_AGES,
    CITIES,
    CLASS_PLURAL,
    CLASS_REASON,
    CLOSED_QA_PROMPTS,
    CLUBS,
    COMPANY_NAMES,
    COMPANY_PRODUCTS,
    CONCEPTS,
    CONVERSIONS,
    COUNTRIES,
    DESKS,
    DISHES,
    EMAIL_DOMAINS,
    EMAIL_PROMPTS,
    EMAIL_SCENARIOS,
    EVENT_DAYS,
    EVENT_TIMES,
    EVENTS,
    EXCLUDABLE,
    FIRST_NAMES,
    FRENCH,
    GENERAL_QA,
    GIFTS,
    GRAMMAR_ERRORS,
    GRAMMAR_FIXES,
    HASHTAGS,
    HEADLINE_LABELS,
    HEADLINES,
    HOBBIES,
    HQ_CITIES,
    INTROS,
    JOBS,
    MESSAGES,
    MONTHS,
    NEGATIVE_LINES,
    NEWS_TEMPLATES,
    NUMBER_WORDS,
    PASSIVE_PAIRS,
    PEOPLE,
    PLAIN_PAIRS,
    PLOTS,
    POEMS,
    POSITIVE_LINES,
    POST_CLOSERS,
    POST_OPENERS,
    PRODUCE,
    PRODUCT_CLOSINGS,
    PRODUCTS,
    PROJECTS,
    RECIPES,
    REVIEW_ITEMS,
    RIVERS,
    SHORTEN_PAIRS,
    SORT_WORDS,
    SPANISH,
    STOPWORDS,
    STORY_CHARACTERS,
    STORY_GENRES,
    STORY_PROMPTS,
    STORY_SETTINGS,
    SURNAMES,
    TONE_TRIPLES,
    TOWN_EXTRAS,
    TOWN_PRODUCTS,
    TOWNS,
    VERTEBRATE_CLASSES,
    WEEKDAYS,
    WORD_LIMITS,
    Animal,
    Plot,
    Product,
)

SEED = 20220304  # the InstructGPT paper's arXiv date, for want of a better number
N_INSTRUCTIONS = 700
N_PRETRAIN = 420
OUT_DIR = Path(__file__).resolve().parent.parent / "instructrl" / "data" / "builtin"
INSTRUCTIONS_FILE = "instructions.jsonl"
PRETRAIN_FILE = "pretrain.jsonl"
ID_PREFIX = {
    "generation": "gen", "open_qa": "oqa", "brainstorming": "brn", "chat": "cht", "rewrite": "rwr",
    "summarization": "sum", "classification": "cls", "other": "oth", "closed_qa": "cqa", "extraction": "ext",
}
MAX_COMPLETION_WORDS = 150
PRETRAIN_WORDS = (60, 200)


@dataclass(frozen=True)
class Candidate:
    """One possible demonstration; builders make many and the category sampler picks among them."""

    prompt: Prompt
    completion: str
    constraints: Constraints | None = None


# --------------------------------------------------------------------------------------------------
# Small text helpers


def an(word: str) -> str:
    """'an owl', 'a honeybee': the indefinite article by the first letter (good enough for our banks)."""
    return f"{'an' if word[0].lower() in 'aeiou' else 'a'} {word}"


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def join_and(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def num_word(n: int) -> str:
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def bullets(items: Sequence[str], numbered: bool = False) -> str:
    return "\n".join(f"{i}. {cap(t)}" if numbered else f"- {cap(t)}" for i, t in enumerate(items, start=1))


def pick(rng: random.Random, items: Sequence[Any], k: int) -> list[Any]:
    return rng.sample(list(items), k)


def pick_keyword(rng: random.Random, completion: str, prompt: str) -> str | None:
    """A lowercase content word of the answer that the prompt does not already contain."""
    folded_prompt = prompt.casefold()
    words = sorted({w for w in re.findall(r"\b[a-z]{5,}\b", completion)
                    if w not in STOPWORDS and w not in folded_prompt})
    return rng.choice(words) if words else None


def pick_excluded(rng: random.Random, completion: str, prompt: str) -> str | None:
    folded = completion.casefold() + " " + prompt.casefold()
    options = [w for w in EXCLUDABLE if w not in folded]
    return rng.choice(options) if options else None


def word_limit_phrase(rng: random.Random, words: int) -> tuple[str, int]:
    """A natural-language word limit the answer meets, and the max_words it means."""
    limit = next(n for n in WORD_LIMITS if n >= words + 2)
    style = rng.randrange(5)
    if style == 0:
        return f"Keep it under {limit} words.", limit - 1
    if style == 1:
        return f"Use no more than {limit} words.", limit
    if style == 2:
        return f"Answer in {limit} words or fewer.", limit
    if style == 3:
        return f"Your answer should be at most {limit} words long.", limit
    return f"Please keep your response within {limit} words.", limit


def sentence_limit_phrase(rng: random.Random, sentences: int) -> tuple[str, int]:
    if sentences == 1:
        return rng.choice(["Answer in one sentence.", "Use a single sentence.", "Reply in just one sentence."]), 1
    limit = sentences + rng.choice([0, 0, 1])
    return rng.choice([f"Use no more than {num_word(limit)} sentences.", f"Keep it to {num_word(limit)} sentences or fewer.",
                       f"Write at most {num_word(limit)} sentences."]), limit


def include_phrase(rng: random.Random, word: str) -> str:
    return rng.choice([f"Use the word '{word}' somewhere in your answer.", f"Make sure to include the word '{word}'.",
                       f"Mention '{word}' in your answer.", f"Your answer must contain the word '{word}'."])


def exclude_phrase(rng: random.Random, word: str) -> str:
    return rng.choice([f"Do not use the word '{word}'.", f"Avoid the word '{word}'.",
                       f"Please don't use the word '{word}'.", f"Don't say '{word}' anywhere in your answer."])


def decorate(rng: random.Random, prompt: str, completion: str, kinds: Sequence[str] = ("words", "include", "exclude"),
             p_none: float = 0.35, p_two: float = 0.2) -> tuple[str, Constraints | None]:
    """Maybe add one or two soft constraints (word or sentence limit, a word to use or avoid) that the
    answer already meets, stating them in the prompt."""
    if rng.random() < p_none:
        return prompt, None
    chosen = [rng.choice(kinds)]
    if rng.random() < p_two and len(kinds) > 1:
        chosen.append(rng.choice([k for k in kinds if k != chosen[0]]))
    phrases: list[str] = []
    fields: dict[str, Any] = {}
    for kind in chosen:
        if kind == "words":
            phrase, fields["max_words"] = word_limit_phrase(rng, count_words(completion))
        elif kind == "sentences" and "\n" not in completion.strip():
            phrase, fields["max_sentences"] = sentence_limit_phrase(rng, count_sentences(completion))
        elif kind == "include" and (word := pick_keyword(rng, completion, prompt)):
            phrase, fields["must_include"] = include_phrase(rng, word), (word,)
        elif kind == "exclude" and (word := pick_excluded(rng, completion, prompt)):
            phrase, fields["must_exclude"] = exclude_phrase(rng, word), (word,)
        else:
            continue
        phrases.append(phrase)
    if not fields:
        return prompt, None
    if "\n\n" in prompt:  # an instruction followed by a pasted text: the constraint belongs to the instruction
        head, block = prompt.split("\n\n", 1)
        head = head[:-1] + "." if head.endswith(":") else head
        return f"{head} {' '.join(phrases)}\n\n{block}", Constraints(**fields)
    return f"{prompt} {' '.join(phrases)}", Constraints(**fields)


def decorated(rng: random.Random, prompt: str, completion: str, **kwargs: Any) -> Candidate:
    text, constraints = decorate(rng, prompt, completion, **kwargs)
    return Candidate(text, completion, constraints)


def exact(prompt: Prompt, completion: str, answer: str) -> Candidate:
    return Candidate(prompt, completion, Constraints(exact_answer=answer))



# --------------------------------------------------------------------------------------------------
# generation


def gen_emails(rng: random.Random) -> list[Candidate]:
    out = []
    for relation, purpose, body in EMAIL_SCENARIOS:
        for _ in range(6):
            day, day2 = pick(rng, WEEKDAYS, 2)
            job = rng.choice(JOBS).title
            slots = {"name": rng.choice(FIRST_NAMES), "sender": rng.choice(FIRST_NAMES), "day": day, "day2": day2,
                     "dish": rng.choice(DISHES), "project": rng.choice(PROJECTS), "job": job, "a_job": an(job)}
            if slots["name"] == slots["sender"]:
                continue
            purpose_text = purpose.format(**slots)
            prompt = rng.choice(EMAIL_PROMPTS).format(relation=relation, purpose=purpose_text, **slots)
            out.append(decorated(rng, prompt, body.format(**slots)))
    return out


def story_text(character: tuple[str, str, str, str], setting: str, plot: Plot) -> str:
    name, desc, pronoun, poss = character
    slots = {"name": name, "pronoun": pronoun, "Pronoun": cap(pronoun), "poss": poss}
    parts = [f"{name} was {desc} who lived {setting}.", f"Every day, {pronoun} dreamed of {plot.goal_ing}.",
             plot.obstacle, plot.action, plot.resolution, plot.moral]
    return " ".join(cap(p.format(**slots)) for p in parts)


def gen_stories(rng: random.Random) -> list[Candidate]:
    out = []
    for character in STORY_CHARACTERS:
        for plot in pick(rng, PLOTS, 4):
            setting = rng.choice(STORY_SETTINGS)
            name, desc = character[0], character[1]
            prompt = rng.choice(STORY_PROMPTS).format(desc=desc, name=name, goal=plot.goal, goal_ing=plot.goal_ing, setting=setting)
            out.append(decorated(rng, prompt, story_text(character, setting, plot), kinds=("words", "include", "exclude", "sentences")))
    return out


def gen_poems(rng: random.Random) -> list[Candidate]:
    out = []
    for topic, (first, second) in POEMS.items():
        variants = [(f"Write a short poem about {topic}.", first), (f"Compose a four-line poem about {topic}.", second),
                    (f"Write a rhyming poem about {topic} with two stanzas.", f"{first}\n\n{second}"),
                    (f"Can you write me a little rhyme about {topic} for a greeting card?", rng.choice([first, second]))]
        for prompt, poem in variants:
            out.append(decorated(rng, prompt, poem, kinds=("words", "include", "exclude")))
    return out


def product_paragraph(rng: random.Random, product: Product) -> str:
    f = product.features
    return (f"Meet the {product.name}, {an(product.kind)} designed for {product.audience}. It features {f[0]} and {f[1]}. "
            f"You'll also appreciate {f[2]} and {f[3]}. {rng.choice(PRODUCT_CLOSINGS)}")


def gen_products(rng: random.Random) -> list[Candidate]:
    out = []
    for product in PRODUCTS:
        full = f"the {product.name} {product.kind}"
        text = product_paragraph(rng, product)
        out.append(decorated(rng, f"Write a product description for {full}.", text))
        out.append(decorated(rng, f"Write a short, upbeat description of the {product.name}, {an(product.kind)}, for an online store.",
                             product_paragraph(rng, product), kinds=("words", "exclude", "sentences")))
        n = rng.choice([3, 4])
        items = list(product.features[:n])
        numbered = rng.random() < 0.3
        fmt = "numbered_list" if numbered else "list"
        shape = "a numbered list" if numbered else "bullet points"
        out.append(Candidate(f"List the {num_word(n)} main features of {full} as {shape}.", bullets(items, numbered),
                             Constraints(format=fmt, num_items=n)))
    return out


def strip_example(example: str) -> str:
    return cap(example.removeprefix("For example, "))


def gen_explanations(rng: random.Random) -> list[Candidate]:
    out = []
    for concept in CONCEPTS:
        age = rng.choice(CHILD_AGES)
        out.append(decorated(rng, f"Explain {concept.name} to a {age}-year-old.", concept.simple,
                             kinds=("words", "sentences", "exclude")))
        out.append(decorated(rng, f"Write a short paragraph explaining {concept.name}.", f"{concept.definition} {concept.example}",
                             kinds=("words", "include", "sentences")))
        out.append(Candidate(f"Explain {concept.name} in one sentence.", concept.definition, Constraints(max_sentences=1)))
        out.append(decorated(rng, f"Give me a simple, real-world example of {concept.name}.", strip_example(concept.example),
                             kinds=("words", "exclude")))
    return out


def gen_recipes(rng: random.Random) -> list[Candidate]:
    out = []
    for recipe in RECIPES:
        n = len(recipe.steps)
        out.append(Candidate(
            rng.choice([f"Give me step-by-step instructions for making {recipe.dish}, as a numbered list of {n} steps.",
                        f"How do I make {recipe.dish}? Answer in {n} numbered steps."]),
            bullets(recipe.steps, numbered=True), Constraints(format="numbered_list", num_items=n)))
        k = len(recipe.ingredients)
        out.append(Candidate(f"List the {k} ingredients I need for {recipe.dish}, one bullet point each.",
                             bullets(recipe.ingredients), Constraints(format="list", num_items=k)))
        text = f"Ingredients: {join_and(recipe.ingredients)}.\n\nSteps:\n{bullets(recipe.steps, numbered=True)}"
        out.append(decorated(rng, f"Write a short recipe for {recipe.dish}.", text, kinds=("words", "exclude")))
    return out


def gen_hobby_writing(rng: random.Random) -> list[Candidate]:
    out = []
    for hobby in HOBBIES:
        n = rng.choice([3, 4, 5])
        tips = pick(rng, hobby.tips, n)
        numbered = rng.random() < 0.4
        out.append(Candidate(
            f"Give {num_word(n)} tips for a beginner who wants to start {hobby.name}"
            f"{', as a numbered list' if numbered else ''}.",
            bullets(tips, numbered), Constraints(format="numbered_list" if numbered else "list", num_items=n)))
        text = (f"You should give {hobby.name} a try! {hobby.benefit} All you need to start is {join_and(hobby.gear[:2])}. "
                f"{rng.choice(hobby.tips)} Why not give it a go this week?")
        out.append(decorated(rng, f"Write a short paragraph encouraging a friend to try {hobby.name}.", text))
    return out


def gen_travel(rng: random.Random) -> list[Candidate]:
    out = []
    for city in CITIES:
        h = city.highlights
        blurb = (f"{city.name} is {city.desc}. Start with {h[0]}, then explore {h[1]} and {h[2]}. "
                 f"Don't leave without trying {city.food}. {city.transport}")
        out.append(decorated(rng, rng.choice([f"Write a short travel blurb about {city.name}.",
                                              f"Write a short paragraph for a travel website about visiting {city.name}."]), blurb))
        friend, sender = pick(rng, FIRST_NAMES, 2)
        card = (f"Dear {friend},\n\nGreetings from {city.name}! Today I visited {h[0]} and {h[1]}, and tonight I'm trying "
                f"{city.food}. Tomorrow I'm off to see {h[2]}. Wish you were here!\n\nLove,\n{sender}")
        out.append(decorated(rng, f"Write a postcard message from {city.name} to my friend {friend}. Sign it from {sender}.", card,
                             kinds=("words", "exclude")))
        intro = f"{city.name} is {city.desc}. Highlights include {h[0]}, {h[1]} and {h[2]}."
        out.append(Candidate(f"Write a two-sentence introduction to {city.name} for a travel guide.", intro,
                             Constraints(max_sentences=2)))
    return out


def gen_bios(rng: random.Random) -> list[Candidate]:
    out = []
    for (first, pronoun), job in zip(PEOPLE, rng.sample(JOBS, len(JOBS)) + rng.sample(JOBS, len(PEOPLE) - len(JOBS))):
        full = f"{first} {rng.choice(SURNAMES)}"
        years = rng.randint(3, 25)
        hobby = rng.choice(HOBBIES).name
        poss = "her" if pronoun == "she" else "his"
        bio = (f"{full} is {an(job.title)} with {years} years of experience. {first} {job.duties}, and colleagues value "
               f"{poss} {job.skills[0]}. Outside work, {first} enjoys {hobby}.")
        out.append(decorated(rng, f"Write a short professional bio for {full}, {an(job.title)} with {years} years of experience "
                                  f"who enjoys {hobby}.", bio, kinds=("words", "sentences", "exclude")))
        profile = {"name": full, "job": job.title, "years_of_experience": years, "hobbies": [hobby]}
        out.append(Candidate(
            f"Create a profile for {full}, {an(job.title)} with {years} years of experience who enjoys {hobby}. Answer as a JSON "
            f"object with the keys name, job, years_of_experience and hobbies (a list).",
            json.dumps(profile, ensure_ascii=False, indent=2),
            Constraints(format="json", num_items=4, must_include=('"name"', '"job"', '"years_of_experience"', '"hobbies"'))))
    return out


def gen_posts(rng: random.Random) -> list[Candidate]:
    out = []
    for event, place, detail in EVENTS:
        for _ in range(2):
            day, time = rng.choice(EVENT_DAYS), rng.choice(EVENT_TIMES)
            text = (f"{rng.choice(POST_OPENERS)} Join us for {event} at {place} on {day} from {time}. {detail} "
                    f"{rng.choice(POST_CLOSERS)}")
            prompt = rng.choice([f"Write a short social media post announcing {event} at {place} on {day}, {time}.",
                                 f"Write a friendly announcement for {event}. It's at {place} on {day}, {time}."])
            if rng.random() < 0.4:
                tag = rng.choice(HASHTAGS)
                out.append(Candidate(f"{prompt} End with the hashtag {tag}.", f"{text} {tag}", Constraints(must_include=(tag,))))
            else:
                out.append(decorated(rng, prompt, text))
    return out


def gen_slogans(rng: random.Random) -> list[Candidate]:
    out = []
    for business, slogans, reason in BUSINESSES:
        first, second = slogans
        out.append(decorated(rng, f"Suggest a slogan for {business}.",
                             f"How about: \"{first}\" It is short, easy to remember, and {reason}.", kinds=("words", "exclude")))
        out.append(decorated(rng, f"Come up with a catchy slogan for {business} and explain in one sentence why it works.",
                             f"\"{second}\" It works because {reason}.", kinds=("words", "exclude")))
    return out


def gen_cards(rng: random.Random) -> list[Candidate]:
    out = []
    for kind, relations, template in CARD_MESSAGES:
        for relation in relations:
            name, sender = pick(rng, FIRST_NAMES, 2)
            gift, used = rng.choice(GIFTS)
            signed = "{sender}" in template
            prompt = f"Write {kind} for {relation} {name}." + (f" It's from me, {sender}." if signed else "")
            if "{gift}" in template:
                prompt = f"Write {kind} to {relation} {name}, who gave me a {gift}. Sign it from {sender}."
            text = template.format(name=name, sender=sender, gift=gift, used=used)
            out.append(decorated(rng, prompt, text, kinds=("words", "exclude", "include")))
    return out


def gen_day_in_life(rng: random.Random) -> list[Candidate]:
    out = []
    for job in JOBS:
        t = job.tasks
        name, pronoun = rng.choice(PEOPLE)
        text = (f"A typical day for {an(job.title)} is busy and varied. Take {name}, for example. In the morning, {name} "
                f"{t[0]}. After that, {pronoun} {t[1]} and {t[2]}. Later in the day, {pronoun} {t[3]}. The work calls for "
                f"{join_and(job.skills)}.")
        out.append(decorated(rng, rng.choice([f"Describe a typical day for {an(job.title)}.",
                                              f"What does a normal working day look like for {an(job.title)}?"]),
                             text, kinds=("words", "sentences", "exclude")))
    return out


def gen_json(rng: random.Random) -> list[Candidate]:
    out = []
    for genre in STORY_GENRES:
        for _ in range(2):
            (first, _pronoun), job, hobby = rng.choice(PEOPLE), rng.choice(JOBS), rng.choice(HOBBIES)
            character = {"name": f"{first} {rng.choice(SURNAMES)}", "age": rng.randint(19, 78), "job": job.title, "hobby": hobby.name}
            out.append(Candidate(
                f"Invent a character for {an(genre)} story who works as {an(job.title)}. Describe them as a JSON object with the "
                f"keys name, age, job and hobby.",
                json.dumps(character, ensure_ascii=False), Constraints(format="json", num_items=4,
                                                                        must_include=('"name"', '"age"', '"job"', '"hobby"'))))
    for city in CITIES:
        value = {"city": city.name, "country": city.country.removeprefix("the "), "highlights": list(city.highlights[:3])}
        out.append(Candidate(
            f"Give me a JSON object describing {city.name} with the keys city, country and highlights (a list of three places to visit).",
            json.dumps(value, ensure_ascii=False, indent=2),
            Constraints(format="json", num_items=3, must_include=('"city"', '"country"', '"highlights"'))))
    for recipe in RECIPES:
        value = {"dish": recipe.dish, "ingredients": list(recipe.ingredients), "minutes": recipe.minutes}
        out.append(Candidate(
            f"Describe the recipe for {recipe.dish} as JSON with the keys dish, ingredients (a list) and minutes.",
            "```json\n" + json.dumps(value, ensure_ascii=False, indent=2) + "\n```",
            Constraints(format="json", must_include=('"dish"', '"ingredients"', '"minutes"'))))
    for cls in ("mammal", "bird", "reptile", "fish", "insect"):
        names = [a.name for a in ANIMALS if a.cls == cls]
        n = min(len(names), rng.choice([3, 4]))
        out.append(Candidate(f"Return a JSON array with the names of {num_word(n)} animals that are {cls if cls == 'fish' else cls + 's'}.",
                             json.dumps(pick(rng, names, n)), Constraints(format="json", num_items=n)))
    return out

# --------------------------------------------------------------------------------------------------
# open_qa


def gen_capitals(rng: random.Random) -> list[Candidate]:
    out = []
    for country in COUNTRIES:
        prompt = rng.choice([f"What is the capital of {country.name}?", f"What's the capital city of {country.name}?",
                             f"Which city is the capital of {country.name}?", f"Name the capital of {country.name}."])
        answer = f"The capital of {country.name} is {country.capital}."
        out.append(exact(prompt, answer, country.capital) if rng.random() < 0.6 else Candidate(prompt, answer))
        if country.continent:
            out.append(exact(rng.choice([f"Which continent is {country.name} in?", f"On which continent is {country.name}?"]),
                             f"{country.name} is in {country.continent}.", country.continent))
    return out


def gen_animal_questions(rng: random.Random) -> list[Candidate]:
    out = []
    for animal in ANIMALS:
        plural = cap(animal.plural)
        out.append(decorated(rng, f"What do {animal.plural} eat?", f"{plural} eat {animal.diet}. {animal.facts[0]}", p_none=0.5))
        out.append(decorated(rng, f"Where do {animal.plural} live?", f"{plural} live in {animal.habitat}. {animal.facts[1]}", p_none=0.5))
        fact_a, fact_b = pick(rng, animal.facts, 2)
        out.append(decorated(rng, rng.choice([f"Tell me an interesting fact about {animal.plural}.",
                                              f"What is something surprising about {animal.plural}?"]),
                             f"{fact_a} {fact_b}",
                             kinds=("words", "exclude"), p_none=0.5))
        if animal.cls in VERTEBRATE_CLASSES:
            asked = rng.choice([c for c in VERTEBRATE_CLASSES if c != animal.cls] + [animal.cls] * 2)
            if asked == animal.cls:
                answer = f"Yes. {cap(an(animal.name))} is {an(asked)}: {CLASS_REASON[asked]}."
            else:
                answer = f"No. {cap(an(animal.name))} is {an(animal.cls)}, not {an(asked)}: {CLASS_REASON[animal.cls]}."
            out.append(exact(f"Is {an(animal.name)} {an(asked)}?", answer, "yes" if asked == animal.cls else "no"))
    return out


def gen_concept_questions(rng: random.Random) -> list[Candidate]:
    out = []
    for concept in CONCEPTS:
        prompt = rng.choice([f"What is {concept.name}?", f"Can you explain what {concept.name} is?", f"What does {concept.name} mean?"])
        out.append(decorated(rng, prompt, f"{concept.definition} {concept.example}", kinds=("words", "sentences", "include"), p_none=0.5))
    return out


def gen_job_questions(rng: random.Random) -> list[Candidate]:
    out = []
    for job in JOBS:
        t = job.tasks
        answer = (f"{cap(an(job.title))} {job.duties}. On a typical day, {an(job.title)} {t[0]}, {t[1]} and {t[2]}. "
                  f"Important skills include {join_and(job.skills)}.")
        prompt = rng.choice([f"What does {an(job.title)} do?", f"What is the job of {an(job.title)}?"])
        out.append(decorated(rng, prompt, answer, kinds=("words", "exclude", "sentences"), p_none=0.5))
    return out


def gen_general_questions(rng: random.Random) -> list[Candidate]:
    out = []
    for qa in GENERAL_QA:
        if qa.exact:
            out.append(exact(qa.question, qa.answer, qa.exact))
        else:
            out.append(decorated(rng, qa.question, qa.answer, kinds=("words", "sentences", "exclude"), p_none=0.5))
    return out


def gen_hobby_questions(rng: random.Random) -> list[Candidate]:
    out = []
    for hobby in HOBBIES:
        # Skip tips that repeat the gear already named ("get binoculars ... use binoculars").
        gear_words = set(re.findall(r"[a-z]{5,}", " ".join(hobby.gear[:2]).lower()))
        fresh = [t for t in hobby.tips if not gear_words & set(re.findall(r"[a-z]{5,}", t.lower()))]
        tips = pick(rng, fresh, 3)
        answer = f"{hobby.benefit} To begin, get {join_and(hobby.gear[:2])}. {tips[0]} {tips[1]} {tips[2]}"
        out.append(decorated(rng, rng.choice([f"How do I get started with {hobby.name}?", f"I'm new to {hobby.name}. Where should I begin?"]),
                             answer, p_none=0.5))
    return out


# --------------------------------------------------------------------------------------------------
# brainstorming


def brainstorm_candidates(rng: random.Random, theme: str, ideas: Sequence[str]) -> list[Candidate]:
    out = []
    n = rng.choice([k for k in (3, 4, 5, 6) if k <= len(ideas)])
    chosen = pick(rng, ideas, n)
    style = rng.random()
    numbered = style < 0.35
    body = bullets(chosen, numbered)
    if rng.random() < 0.4:
        body = f"{rng.choice(INTROS).format(n=num_word(n))}\n{body}"
    prompt = rng.choice(BRAINSTORM_PROMPTS).format(n=num_word(n) if rng.random() < 0.5 else n, theme=theme)
    if style < 0.8:
        fmt = "numbered_list" if numbered else "list"
        prompt += " Use a numbered list." if numbered else rng.choice([" Format them as a bulleted list.", ""])
        out.append(Candidate(prompt, body, Constraints(format=fmt, num_items=n)))
    else:
        out.append(Candidate(f"I'm looking for {theme}. Any suggestions?", body))
    return out


def gen_brainstorm_themes(rng: random.Random) -> list[Candidate]:
    out = []
    for theme, ideas in BRAINSTORM_THEMES:
        for _ in range(2):
            out.extend(brainstorm_candidates(rng, theme, ideas))
    return out


def gen_brainstorm_banks(rng: random.Random) -> list[Candidate]:
    out = []
    for city in CITIES:
        ideas = [*(f"visit {h}" for h in city.highlights), f"try {city.food}"]
        out.extend(brainstorm_candidates(rng, f"things to do in {city.name}", ideas))
    for animal in ANIMALS:
        out.extend(brainstorm_candidates(rng, f"fun facts about {animal.plural}", animal.facts))
    for hobby in HOBBIES:
        out.extend(brainstorm_candidates(rng, f"blog post ideas about {hobby.name}", [b.format(hobby=hobby.name) for b in BLOG_IDEAS]))
    return out


# --------------------------------------------------------------------------------------------------
# chat


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def chat_decorated(rng: random.Random, turns: list[dict[str, str]], completion: str, **kwargs: Any) -> Candidate:
    last, constraints = decorate(rng, turns[-1]["content"], completion, **kwargs)
    return Candidate([*turns[:-1], user(last)], completion, constraints)


def gen_chat_travel(rng: random.Random) -> list[Candidate]:
    out = []
    for city in CITIES:
        opener = rng.choice([f"I'm going to {city.name} next month for the first time.", f"I'm planning a trip to {city.name}.",
                             f"My family and I are visiting {city.name} this summer."])
        reply = (f"How exciting! {city.name} is {city.desc}. Would you like help with sights, food or getting around?")
        followup = rng.randrange(3)
        if followup == 0:
            answer = (f"Don't miss {city.food}. For the best meals, ask locals for their favourite places, which are often "
                      f"small spots away from the main tourist streets.")
            out.append(chat_decorated(rng, [user(opener), assistant(reply), user("What food should I try?")], answer, p_none=0.5))
        elif followup == 1:
            answer = f"{city.transport} It's worth downloading a local transit or map app before you arrive."
            out.append(chat_decorated(rng, [user(opener), assistant(reply), user("What's the best way to get around?")], answer,
                                      p_none=0.5))
        else:
            n = rng.choice([3, 4])
            answer = f"Here are {num_word(n)} highlights:\n{bullets(city.highlights[:n])}"
            out.append(Candidate([user(opener), assistant(reply), user(f"What are the top {num_word(n)} sights? A short list is fine.")],
                                 answer, Constraints(format="list", num_items=n)))
    return out


def gen_chat_recipes(rng: random.Random) -> list[Candidate]:
    out = []
    for recipe in RECIPES:
        first = f"Here's a simple way to make {recipe.dish}:\n{bullets(recipe.steps, numbered=True)}"
        turns = [user(f"How do I make {recipe.dish}?"), assistant(first)]
        followup = rng.randrange(3)
        if followup == 0:
            out.append(chat_decorated(rng, [*turns, user("How long will that take?")],
                                      f"About {recipe.minutes} minutes in total, including preparation.", p_none=0.5))
        elif followup == 1:
            out.append(chat_decorated(rng, [*turns, user("What should I serve with it?")],
                                      f"It goes well with {recipe.serve_with}. Keep the side simple so the main dish stands out.",
                                      p_none=0.5))
        else:
            people = "one person" if recipe.serves == 1 else f"about {recipe.serves} people"
            out.append(exact([*turns, user("How many people does that serve?")],
                             f"This recipe serves {people}. To feed more, multiply every ingredient by the same amount.",
                             str(recipe.serves) if recipe.serves > 1 else "one"))
    return out


def gen_chat_tutor(rng: random.Random) -> list[Candidate]:
    out = []
    for concept in CONCEPTS:
        turns = [user(rng.choice([f"What is {concept.name}?", f"Can you tell me what {concept.name} is?"])),
                 assistant(concept.definition)]
        if rng.random() < 0.5:
            out.append(chat_decorated(rng, [*turns, user("Can you give me an example?")], strip_example(concept.example),
                                      kinds=("words", "exclude")))
        else:
            out.append(chat_decorated(rng, [*turns, user("Can you explain it more simply?")], concept.simple,
                                      kinds=("words", "sentences")))
    return out


def gen_chat_hobbies(rng: random.Random) -> list[Candidate]:
    out = []
    for hobby in HOBBIES:
        turns = [user(f"I'd like to get into {hobby.name}."),
                 assistant(f"Great idea! {hobby.benefit} Would you like some beginner tips or a list of what you need?")]
        if rng.random() < 0.5:
            n = min(len(hobby.gear), rng.choice([3, 4]))
            out.append(Candidate([*turns, user(f"What do I need to get started? Just list {num_word(n)} essentials.")],
                                 bullets(hobby.gear[:n]), Constraints(format="list", num_items=n)))
        else:
            tips = pick(rng, hobby.tips, 3)
            out.append(chat_decorated(rng, [*turns, user("Some beginner tips, please.")], " ".join(tips), p_none=0.5))
    return out


def gen_chat_animals(rng: random.Random) -> list[Candidate]:
    out = []
    for animal in ANIMALS:
        turns = [user(f"Tell me about {animal.plural}."), assistant(f"{animal.facts[0]} {animal.facts[2]}")]
        if rng.random() < 0.5:
            out.append(chat_decorated(rng, [*turns, user("What do they eat?")], f"{cap(animal.plural)} eat {animal.diet}.", p_none=0.5))
        else:
            out.append(chat_decorated(rng, [*turns, user("Where do they live?")], f"{cap(animal.plural)} live in {animal.habitat}.",
                                      p_none=0.5))
    return out


def decimal_text(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def gen_chat_math(rng: random.Random) -> list[Candidate]:
    out = []
    for _ in range(16):
        pct = rng.choice([5, 10, 15, 20, 25, 30, 40, 75])
        base = rng.choice([20, 40, 60, 80, 120, 160, 200, 240, 300, 400])
        result = pct * base // 100 if pct * base % 100 == 0 else pct * base / 100
        r = decimal_text(result)
        turns = [user(f"What is {pct}% of {base}?"), assistant(f"{pct}% of {base} is {r}.")]
        answer = (f"To find {pct}% of {base}, turn the percentage into a decimal by dividing by 100, which gives "
                  f"{decimal_text(pct / 100)}. Then multiply: {decimal_text(pct / 100)} × {base} = {r}.")
        out.append(exact([*turns, user("How did you work that out?")], answer, r))
    return out


def gen_chat_desks(rng: random.Random) -> list[Candidate]:
    out = []
    for desk in DESKS:
        system = {"role": "system", "content": f"You are the friendly assistant for {desk.name}. {desk.facts} "
                                               f"Answer using only these facts."}
        for question, answer in desk.questions:
            out.append(chat_decorated(rng, [system, user(question)], answer, kinds=("words",), p_none=0.6))
    return out


SCRIPTED_CHATS = [
    ([user("I have a job interview tomorrow and I'm really nervous."),
      assistant("That's completely normal, and a little nervousness shows you care. Would you like help preparing?"),
      user("Yes, what's a common question I should prepare for?")],
     "A very common one is \"Tell me about yourself.\" Prepare a one-minute answer: start with your current role or studies, "
     "mention one or two achievements related to the job, and finish with why you want this position. Practise it out loud "
     "a few times so it sounds natural rather than memorised."),
    ([user("My houseplant's leaves are turning yellow."),
      assistant("Yellow leaves are often a sign of overwatering, though too little light can also cause them. How often do you water it?"),
      user("Every day.")],
     "That is probably too much for most houseplants. Let the top few centimetres of soil dry out before watering again, make "
     "sure the pot has drainage holes, and empty any water left in the saucer. Trim the yellow leaves; new growth should come "
     "in green once the roots recover."),
    ([user("What's a good name for a goldfish?"), assistant("How about Bubbles, Goldie or Finn?"), user("Something funnier, please.")],
     "Sure! How about Sir Swims-a-Lot, Fishy McFishface, Gill Murray or Captain Bubbles?"),
    ([user("How do I say thank you in Japanese?"),
      assistant("You can say \"arigatou.\" To be more polite, say \"arigatou gozaimasu.\""),
      user("And how do I say good morning?")],
     "Good morning in Japanese is \"ohayou\" among friends and family, or \"ohayou gozaimasu\" when you want to be polite."),
    ([user("I want to start saving money but I don't know where to begin."),
      assistant("A good first step is to track your spending for a month so you can see where your money goes. Would you like a simple budgeting method?"),
      user("Yes, please.")],
     "Try the 50/30/20 rule. Put about 50 percent of your take-home pay toward needs such as rent, food and bills, 30 percent "
     "toward wants, and 20 percent into savings or paying off debt. Setting up an automatic transfer to savings on payday makes "
     "it much easier to stick to."),
    ([user("What's the difference between baking soda and baking powder?"),
      assistant("Baking soda is pure sodium bicarbonate and needs an acid to react. Baking powder already contains an acid, so it works on its own when wet and heated."),
      user("Can I use one instead of the other?")],
     "Sometimes. To replace 1 teaspoon of baking powder, use about a quarter teaspoon of baking soda plus an acid, such as half "
     "a teaspoon of cream of tartar. To replace baking soda with baking powder, you need about three times as much, and the "
     "flavour and texture may change a little."),
    ([user("I'm trying to cut down on sugar."),
      assistant("That's a great goal. Small swaps add up, like choosing water over soda and checking labels for added sugar."),
      user("What can I snack on instead of cookies?")],
     "Try fresh fruit such as apple slices or berries, a handful of nuts, plain yogurt with cinnamon, carrot sticks with "
     "hummus, or a few squares of dark chocolate. Snacks with some protein or fibre keep you full longer."),
    ([user("Can you help me plan a weekly workout routine? I'm a beginner."),
      assistant("Of course! How much time do you have for each session?"),
      user("About 30 minutes, three times a week.")],
     "Here's a simple plan:\n- Monday: 30 minutes of full-body strength work, such as squats, push-ups and rows\n"
     "- Wednesday: 30 minutes of brisk walking, cycling or swimming\n- Friday: repeat Monday's strength session\n"
     "Start with light effort, rest on the other days, and add a little more each week."),
    ([user("I keep procrastinating on a big school project."),
      assistant("That happens to everyone, especially with big tasks. What part feels hardest to start?"),
      user("Honestly, just getting started at all.")],
     "Make the first step tiny: set a timer for ten minutes and only write an outline or a list of questions. Starting is "
     "usually the hardest part, and once you begin, it's easier to keep going. Then break the rest into small tasks with their "
     "own deadlines."),
    ([user("What's a quick vegetarian dinner I can make tonight?"),
      assistant("How about a vegetable stir-fry, a bean quesadilla or tomato pasta? Do you have a preference?"),
      user("The quesadilla sounds good. How do I make it?")],
     "Mash a can of drained black beans with a little cumin and salt. Spread the beans on half of a tortilla, add grated "
     "cheese and some corn or peppers, then fold it over. Cook it in a dry pan over medium heat for about 3 minutes per side "
     "until golden and melted. Serve with salsa."),
]


def gen_chat_scripted(rng: random.Random) -> list[Candidate]:
    return [chat_decorated(rng, turns, answer, kinds=("words",), p_none=0.6) for turns, answer in SCRIPTED_CHATS]

# --------------------------------------------------------------------------------------------------
# rewrite


def quoted(text: str) -> str:
    return f"\"{text}\""


def gen_tone(rng: random.Random) -> list[Candidate]:
    out = []
    for casual, formal, friendly in TONE_TRIPLES:
        prompt = rng.choice([f"Rewrite this message in a formal, professional tone: {quoted(casual)}",
                             f"Make this sound more professional:\n\n{casual}",
                             f"Please rewrite the following text formally.\n\n{casual}"])
        out.append(decorated(rng, prompt, formal, kinds=("exclude", "words"), p_none=0.5))
        prompt = rng.choice([f"Rewrite this to sound warmer and friendlier: {quoted(formal)}",
                             f"Make this message more casual and friendly:\n\n{formal}"])
        out.append(decorated(rng, prompt, friendly, kinds=("exclude", "words"), p_none=0.5))
    return out


def gen_grammar(rng: random.Random) -> list[Candidate]:
    out = []
    for (wrong, right), error in zip(GRAMMAR_FIXES, GRAMMAR_ERRORS):
        prompt = rng.choice([f"Fix the grammar in this sentence: {quoted(wrong)}", f"Correct any mistakes in the following sentence.\n\n{wrong}",
                             f"Can you proofread this for me? {quoted(wrong)}"])
        if rng.random() < 0.5:
            out.append(Candidate(prompt, right, Constraints(must_exclude=(error,))))
        else:
            out.append(Candidate(prompt, right))
    return out


def gen_shorten(rng: random.Random) -> list[Candidate]:
    out = []
    for long, short in SHORTEN_PAIRS:
        limit = count_words(short) + rng.choice([2, 3, 5])
        prompt = rng.choice([f"Shorten this sentence to {limit} words or fewer: {quoted(long)}",
                             f"Make this more concise, using at most {limit} words.\n\n{long}"])
        out.append(Candidate(prompt, short, Constraints(max_words=limit)))
    return out


def gen_active_voice(rng: random.Random) -> list[Candidate]:
    return [decorated(rng, rng.choice([f"Rewrite this sentence in the active voice: {quoted(passive)}",
                                       f"Change the following sentence from passive to active voice.\n\n{passive}"]),
                      active, kinds=("words",), p_none=0.6)
            for passive, active in PASSIVE_PAIRS]


def gen_plain(rng: random.Random) -> list[Candidate]:
    out = []
    for formal, plain in PLAIN_PAIRS:
        prompt = rng.choice([f"Rewrite this in plain, simple English: {quoted(formal)}",
                             f"Say this more simply so anyone can understand it.\n\n{formal}"])
        out.append(decorated(rng, prompt, plain, kinds=("words",), p_none=0.5))
    return out


# --------------------------------------------------------------------------------------------------
# summarization


def animal_passage(animal: Animal) -> str:
    return (f"{cap(an(animal.name))} is {an(animal.cls)}. {cap(animal.plural)} live in {animal.habitat}, and they eat "
            f"{animal.diet}. {' '.join(animal.facts)}")


def gen_summarize_animals(rng: random.Random) -> list[Candidate]:
    out = []
    for animal in ANIMALS:
        passage = animal_passage(animal)
        if rng.random() < 0.5:
            summary = f"{cap(animal.plural)} are {CLASS_PLURAL[animal.cls]} that live in {animal.habitat}; they eat {animal.diet}."
            out.append(Candidate(f"Summarize the following passage in one sentence.\n\n{passage}", summary,
                                 Constraints(max_sentences=1)))
        else:
            summary = f"{cap(animal.plural)} are {CLASS_PLURAL[animal.cls]} that live in {animal.habitat}. {animal.facts[0]}"
            out.append(Candidate(rng.choice([f"Summarize this in two sentences:\n\n{passage}",
                                             f"Give me a two-sentence summary of this text.\n\n{passage}"]),
                                 summary, Constraints(max_sentences=2)))
    return out


def gen_summarize_news(rng: random.Random) -> list[Candidate]:
    out = []
    for passage_t, summary_t in NEWS_TEMPLATES:
        for _ in range(4):
            slots = {"town": rng.choice(TOWNS), "day": rng.choice(WEEKDAYS), "years": rng.randint(40, 90),
                     "books": f"{rng.randint(20, 60)},000", "person": f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}",
                     "visitors": rng.choice([300, 500, 800, 1200]), "trees": rng.choice([120, 200, 350, 500]),
                     "river": rng.choice(RIVERS), "teams": rng.randint(8, 20), "month": rng.choice(MONTHS),
                     "minutes": rng.choice([10, 15, 20, 30])}
            passage, summary = passage_t.format(**slots), summary_t.format(**slots)
            style = rng.randrange(3)
            if style == 0:
                out.append(Candidate(f"Summarize this news article in no more than two sentences.\n\n{passage}", summary,
                                     Constraints(max_sentences=2)))
            elif style == 1:
                limit = next(n for n in WORD_LIMITS if n >= count_words(summary) + 2)
                out.append(Candidate(f"Summarize the following in at most {limit} words:\n\n{passage}", summary,
                                     Constraints(max_words=limit)))
            else:
                out.append(Candidate(f"What is the main point of this article?\n\n{passage}", summary))
    return out


def gen_summarize_meetings(rng: random.Random) -> list[Candidate]:
    out = []
    for _ in range(8):
        a, b, c = pick(rng, FIRST_NAMES, 3)
        product = rng.choice(COMPANY_PRODUCTS)
        month = rng.choice(MONTHS)
        budget = rng.choice([5, 8, 12, 20])
        notes = (f"The team met to plan the launch of the new {product}. {a} confirmed that the launch date is still set for "
                 f"{month}. {b} reported that testing found two small problems, and both will be fixed next week. The group "
                 f"discussed the marketing plan at length and agreed to spend {budget},000 dollars on online ads. {c} will send "
                 f"a summary to the sales team by Friday.")
        items = [f"The launch of the {product} is still planned for {month}.", "Two small problems found in testing will be fixed next week.",
                 f"The team agreed to spend {budget},000 dollars on online ads, and {c} will update sales by Friday."]
        out.append(Candidate(f"Summarize these meeting notes as three bullet points.\n\n{notes}", bullets(items),
                             Constraints(format="list", num_items=3)))
    return out


# --------------------------------------------------------------------------------------------------
# classification


def gen_sentiment(rng: random.Random) -> list[Candidate]:
    out = []
    for item in REVIEW_ITEMS:
        good = f"I bought this {item} last month. {POSITIVE_LINES[item]} Would happily recommend it."
        bad = f"I bought this {item} last month. {NEGATIVE_LINES[item]} Would not recommend it."
        if item in ("hotel", "restaurant"):
            good = f"We tried this {item} last month. {POSITIVE_LINES[item]} We'll be back."
            bad = f"We tried this {item} last month. {NEGATIVE_LINES[item]} We won't be back."
        for review, label, why in ((good, "positive", "the reviewer praises it and would recommend it"),
                                   (bad, "negative", "the reviewer describes a problem and is unhappy")):
            prompt = rng.choice([f"Is the sentiment of this review positive or negative?\n\n{review}",
                                 f"Classify the following review as positive or negative: {quoted(review)}"])
            out.append(exact(prompt, f"{cap(label)}. {cap(why)}.", label))
    return out


def gen_animal_classes(rng: random.Random) -> list[Candidate]:
    out = []
    for animal in ANIMALS:
        if animal.cls not in VERTEBRATE_CLASSES:
            continue
        prompt = rng.choice([f"Classify {an(animal.name)} as a mammal, bird, reptile, amphibian or fish.",
                             f"Which group does {an(animal.name)} belong to: mammal, bird, reptile, amphibian or fish?"])
        out.append(exact(prompt, f"{cap(an(animal.name))} is {an(animal.cls)}, because {CLASS_REASON[animal.cls]}.", animal.cls))
    return out


def gen_headlines(rng: random.Random) -> list[Candidate]:
    labels = ", ".join(HEADLINE_LABELS[:-1]) + " or " + HEADLINE_LABELS[-1]
    return [exact(rng.choice([f"Classify this headline into one of these topics: {labels}.\n\n{quoted(headline)}",
                              f"Which topic does this headline belong to ({labels})? {quoted(headline)}"]),
                  f"{cap(label)}.", label)
            for headline, label in HEADLINES]


def gen_spam(rng: random.Random) -> list[Candidate]:
    out = []
    for message, label, why in MESSAGES:
        # "legitimate" rather than "not spam": an answer of "not spam" would contain the label "spam"
        prompt = rng.choice([f"Is this message spam or legitimate?\n\n{quoted(message)}",
                             f"Label the following text message as \"spam\" or \"legitimate\": {quoted(message)}"])
        answer = f"{cap(label)}. {cap(why)}."
        out.append(exact(prompt, answer, label))
    return out


def gen_produce(rng: random.Random) -> list[Candidate]:
    out = []
    for name, label in PRODUCE:
        out.append(exact(rng.choice([f"Is {an(name)} a fruit or a vegetable?", f"Classify {an(name)} as a fruit or a vegetable."]),
                         f"{cap(an(name))} is {an(label)}.", label))
    return out

# --------------------------------------------------------------------------------------------------
# other: arithmetic, conversions and small deterministic tasks


def gen_arithmetic(rng: random.Random) -> list[Candidate]:
    out = []
    for _ in range(6):
        name, pronoun = rng.choice(PEOPLE)
        a, b = rng.randint(3, 9), rng.choice([4, 6, 8, 10, 12])
        item = rng.choice(["pencils", "stickers", "cookies", "marbles", "cards"])
        out.append(exact(f"{name} buys {a} packs of {item} with {b} in each pack. How many {item} does {pronoun} have in total?",
                         f"{a} × {b} = {a * b}, so {name} has {a * b} {item}.", str(a * b)))
        s, h = rng.choice([40, 60, 80, 90, 120]), rng.randint(2, 5)
        out.append(exact(f"A train travels at {s} kilometres per hour for {h} hours. How far does it go?",
                         f"Distance is speed times time: {s} × {h} = {s * h} kilometres.", str(s * h)))
        p, d = rng.choice([20, 40, 60, 80, 100, 120]), rng.choice([10, 20, 25, 50])
        off = p * d // 100
        out.append(exact(f"A jacket costs {p} dollars and is on sale for {d}% off. What is the sale price?",
                         f"{d}% of {p} dollars is {off} dollars, so the sale price is {p} - {off} = {p - off} dollars.", str(p - off)))
        k = rng.choice([2, 3, 4])
        n = k * rng.randint(2, 4)
        out.append(exact(f"A pizza is cut into {n} slices and shared equally by {k} people. How many slices does each person get?",
                         f"{n} ÷ {k} = {n // k}, so each person gets {n // k} slices.", str(n // k)))
        x, y = rng.randint(12, 99), rng.randint(12, 99)
        op = rng.choice(["+", "×", "-"])
        value = x + y if op == "+" else x * y if op == "×" else x - y
        out.append(exact(f"What is {x} {op} {y}?", f"{x} {op} {y} = {value}.", str(value)))
    return out


def gen_conversions(rng: random.Random) -> list[Candidate]:
    out = []
    for big, small, factor in CONVERSIONS:
        n = rng.randint(2, 9)
        singular = {"feet": "foot", "inches": "inch", "kilometres": "kilometre", "kilograms": "kilogram", "hours": "hour",
                    "days": "day", "litres": "litre", "metres": "metre", "minutes": "minute"}[big]
        out.append(exact(rng.choice([f"How many {small} are in {n} {big}?", f"Convert {n} {big} to {small}."]),
                         f"{n} {big} is {n * factor:,} {small}, because 1 {singular} is {factor:,} {small}.", str(n * factor)))
    for c, f in CELSIUS_TO_F:
        out.append(exact(f"Convert {c} degrees Celsius to Fahrenheit.",
                         f"{c} °C is {f} °F. To convert, multiply by 9/5 and add 32: {c} × 9/5 + 32 = {f}.", f))
    return out


def roman(n: int) -> str:
    numerals = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"), (10, "X"),
                (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = []
    for value, letters in numerals:
        while n >= value:
            out.append(letters)
            n -= value
    return "".join(out)


def gen_word_tasks(rng: random.Random) -> list[Candidate]:
    out = []
    for _ in range(8):
        words = pick(rng, SORT_WORDS, rng.choice([4, 5]))
        ordered = ", ".join(sorted(words))
        out.append(exact(f"Sort these words alphabetically: {', '.join(words)}.", f"In alphabetical order: {ordered}.", ordered))
    for english, spanish in SPANISH:
        out.append(exact(f"How do you say \"{english}\" in Spanish?", f"\"{cap(english)}\" in Spanish is \"{spanish}\".", spanish))
    for english, french in FRENCH:
        out.append(exact(f"What is the French word for \"{english}\"?", f"The French for \"{english}\" is \"{french}\".", french))
    for word, opposite in ANTONYMS:
        out.append(exact(rng.choice([f"What is the opposite of \"{word}\"?", f"Give me an antonym of \"{word}\"."]),
                         f"The opposite of \"{word}\" is \"{opposite}\".", opposite))
    for n in pick(rng, range(4, 2030), 10):
        out.append(exact(f"Write {n} in Roman numerals.", f"{n} in Roman numerals is {roman(n)}.", roman(n)))
    for hour, minute in [(3, 45), (7, 15), (11, 30), (9, 5), (6, 50), (1, 20)]:
        out.append(exact(f"Convert {hour}:{minute:02d} pm to 24-hour time.",
                         f"{hour}:{minute:02d} pm is {hour + 12}:{minute:02d} in 24-hour time.", f"{hour + 12}:{minute:02d}"))
    return out


# --------------------------------------------------------------------------------------------------
# closed_qa: questions about a passage given in the prompt (made-up places, companies and people)


def town_passage(rng: random.Random) -> tuple[str, list[tuple[str, str, str]]]:
    town, river, product = rng.choice(TOWNS), rng.choice(RIVERS), rng.choice(TOWN_PRODUCTS)
    year, pop, month = rng.randint(1700, 1899), f"{rng.randint(2, 19)},{rng.randint(100, 999)}", rng.choice(MONTHS)
    founders = rng.choice(["farmers", "miners", "weavers", "fishermen", "traders"])
    bridge = year + rng.randint(20, 90)
    passage = (f"{town} is a small town on the banks of the {river} River. It was founded in {year} by a group of {founders}. "
               f"Today about {pop} people live there. The town is best known for its {product}, and every {month} it hosts a "
               f"festival that draws visitors from across the region. The stone bridge in the town centre was built in {bridge}.")
    qas = [(f"When was {town} founded?", f"{town} was founded in {year}.", str(year)),
           (f"What is {town} best known for?", f"{town} is best known for its {product}.", product),
           (f"In which month is the festival in {town} held?", f"The festival is held every {month}.", month),
           (f"How many people live in {town}?", f"About {pop} people live in {town}.", pop),
           ("When was the stone bridge built?", f"The stone bridge was built in {bridge}.", str(bridge))]
    return passage, qas


def company_passage(rng: random.Random) -> tuple[str, list[tuple[str, str, str]]]:
    company, product, hq = rng.choice(COMPANY_NAMES), rng.choice(COMPANY_PRODUCTS), rng.choice(HQ_CITIES)
    founder = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
    year, staff, countries = rng.randint(1985, 2015), rng.choice([40, 120, 350, 900, 2400]), rng.randint(3, 40)
    moved = year + rng.randint(3, 8)
    passage = (f"{company} was started in {year} by {founder} in a small workshop. The company makes {product}. It now "
               f"employs {staff} people and sells its products in {countries} countries. In {moved}, its headquarters moved to "
               f"{hq}, where it also opened a repair centre.")
    qas = [(f"Who started {company}?", f"{company} was started by {founder}.", founder),
           (f"What does {company} make?", f"{company} makes {product}.", product),
           (f"How many people does {company} employ?", f"{company} employs {staff} people.", str(staff)),
           (f"Where is the headquarters of {company}?", f"Its headquarters is in {hq}.", hq),
           (f"In how many countries does {company} sell its products?", f"It sells its products in {countries} countries.", str(countries))]
    return passage, qas


def person_passage(rng: random.Random) -> tuple[str, list[tuple[str, str, str]]]:
    (first, pronoun), surname = rng.choice(PEOPLE), rng.choice(SURNAMES)
    town, instrument = rng.choice(TOWNS), rng.choice(["cello", "piano", "violin", "flute", "trumpet"])
    age, year, album = rng.randint(5, 12), rng.randint(1995, 2020), rng.choice(["Quiet Harbour", "Northern Lights", "Blue Hour", "Small Hours"])
    poss = "her" if pronoun == "she" else "his"
    passage = (f"{first} {surname} is a musician from {town}. {cap(pronoun)} started playing the {instrument} at the age of {age} "
               f"and later studied music in the city. In {year}, {pronoun} released {poss} first album, \"{album}\", which was "
               f"recorded in {poss} grandmother's living room. Today {first} teaches music two days a week and tours in the summer.")
    qas = [(f"What instrument does {first} play?", f"{first} plays the {instrument}.", instrument),
           (f"At what age did {first} start playing?", f"{first} started playing at the age of {age}.", str(age)),
           (f"What is the name of {first}'s first album?", f"{first}'s first album is called \"{album}\".", album),
           (f"In which year was {first}'s first album released?", f"It was released in {year}.", str(year)),
           (f"Where is {first} from?", f"{first} is from {town}.", town)]
    return passage, qas


def club_passage(rng: random.Random) -> tuple[str, list[tuple[str, str, str]]]:
    (club, activity), building = rng.choice(CLUBS), rng.choice(BUILDINGS)
    town, day = rng.choice(TOWNS), rng.choice(WEEKDAYS)
    time, room, fee = rng.choice(["6 pm", "6:30 pm", "7 pm", "7:30 pm"]), rng.randint(2, 24), rng.choice([10, 15, 20, 25, 30])
    passage = (f"The {town} {club} meets every {day} at {time} in room {room} of the {building}. Members {activity}. "
               f"Membership costs {fee} dollars a year, and new members can attend two meetings for free before joining.")
    qas = [(f"On which day does the {club} meet?", f"The {club} meets every {day}.", day),
           ("What time do meetings start?", f"Meetings start at {time}.", time),
           ("How much does membership cost?", f"Membership costs {fee} dollars a year.", str(fee)),
           (f"In which room does the {club} meet?", f"It meets in room {room}.", str(room)),
           ("How many free meetings can new members attend?", "New members can attend two meetings for free.", "two")]
    return passage, qas


def gen_closed_qa(rng: random.Random) -> list[Candidate]:
    out = []
    for maker in (town_passage, company_passage, person_passage, club_passage):
        for _ in range(8):
            passage, qas = maker(rng)
            question, answer, short = rng.choice(qas)
            prompt = rng.choice(CLOSED_QA_PROMPTS).format(passage=passage, question=question,
                                                          question_lower=question[0].lower() + question[1:])
            out.append(exact(prompt, answer, short))
    return out


# --------------------------------------------------------------------------------------------------
# extraction


def gen_extraction(rng: random.Random) -> list[Candidate]:
    out = []
    for _ in range(4):
        first, surname = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        email = f"{first.lower().replace('á', 'a')}.{surname.lower()}@{rng.choice(EMAIL_DOMAINS)}"
        day = rng.choice(WEEKDAYS)
        text = (f"Hi everyone, please send your questions about the trip to {email} before {day}. "
                f"I'll reply to all of them by the weekend. Thanks, {first}")
        out.append(exact(rng.choice([f"Extract the email address from this message.\n\n{text}", f"What email address is mentioned here? {quoted(text)}"]),
                         email, email))
        month, d, year = rng.choice(MONTHS), rng.randint(1, 28), rng.randint(2021, 2027)
        date = f"{month} {d}, {year}"
        note = (f"Update from the {rng.choice(TOWNS)} residents' association: the next meeting has been moved to {date}, "
                f"at 6 pm in the main hall. Tea and biscuits will be served.")
        out.append(exact(f"What date is the meeting? Reply with just the date.\n\n{note}", date, date))
        phone = f"555-01{rng.randint(10, 99)}"
        ad = (f"Lost cat: grey with white paws, answers to {rng.choice(['Smokey', 'Luna', 'Pepper', 'Mittens'])}. Last seen near "
              f"{rng.choice(TOWNS)} station. If you see her, please call {phone}. Reward offered.")
        out.append(exact(f"Find the phone number in this notice.\n\n{ad}", f"The phone number is {phone}.", phone))
        basic, deluxe = rng.choice([5, 7, 9, 12]), rng.choice([18, 20, 24, 30])
        plans = f"The Basic plan costs {basic} dollars per month, while the Deluxe plan costs {deluxe} dollars per month and includes cloud storage."
        out.append(exact(f"From the text below, how much does the Deluxe plan cost per month?\n\n{plans}",
                         f"The Deluxe plan costs {deluxe} dollars per month.", str(deluxe)))
        a, b, c = pick(rng, FIRST_NAMES, 3)
        minutes = (f"At Tuesday's meeting, {a} presented the budget, {b} gave an update on hiring, and {c} took notes. "
                   f"Everyone agreed to meet again in two weeks.")
        out.append(Candidate(f"List the names of the people mentioned in this text, one per bullet point.\n\n{minutes}",
                             bullets([a, b, c]), Constraints(format="list", num_items=3, must_include=(a, b, c))))
        (person, _), age, city = rng.choice(PEOPLE), rng.randint(21, 70), rng.choice(CITIES).name
        bio = f"{person} is {age} years old, lives in {city} and works as {an(rng.choice(JOBS).title)}."
        value = {"name": person, "age": age, "city": city}
        out.append(Candidate(f"Extract the name, age and city from this sentence as a JSON object with the keys name, age and city: {quoted(bio)}",
                             json.dumps(value, ensure_ascii=False),
                             Constraints(format="json", num_items=3, must_include=(person, str(age), city))))
        order = rng.randint(100000, 999999)
        ship = f"Good news! Your order #{order} has shipped and should arrive within 3 to 5 working days."
        out.append(exact(f"What is the order number in this message? {quoted(ship)}", f"The order number is {order}.", str(order)))
    return out

# --------------------------------------------------------------------------------------------------
# Assembling the instruction set

Builder = Callable[[random.Random], list[Candidate]]
# Per category: (builder, weight). The sampler takes `weight` candidates from a builder per round, so
# every kind of task is represented even when a category needs fewer rows than its builders offer.
CATEGORY_BUILDERS: dict[str, list[tuple[Builder, int]]] = {
    "generation": [(gen_emails, 3), (gen_stories, 3), (gen_poems, 2), (gen_products, 2), (gen_explanations, 3),
                   (gen_recipes, 2), (gen_hobby_writing, 2), (gen_travel, 2), (gen_bios, 2), (gen_posts, 2),
                   (gen_slogans, 1), (gen_cards, 2), (gen_day_in_life, 1), (gen_json, 2)],
    "open_qa": [(gen_general_questions, 3), (gen_capitals, 2), (gen_animal_questions, 3), (gen_concept_questions, 2),
                (gen_job_questions, 1), (gen_hobby_questions, 1)],
    "brainstorming": [(gen_brainstorm_themes, 2), (gen_brainstorm_banks, 2)],
    "chat": [(gen_chat_travel, 1), (gen_chat_recipes, 1), (gen_chat_tutor, 1), (gen_chat_hobbies, 1), (gen_chat_animals, 1),
             (gen_chat_math, 1), (gen_chat_desks, 1), (gen_chat_scripted, 1)],
    "rewrite": [(gen_tone, 2), (gen_grammar, 1), (gen_shorten, 1), (gen_active_voice, 1), (gen_plain, 1)],
    "summarization": [(gen_summarize_animals, 2), (gen_summarize_news, 2), (gen_summarize_meetings, 1)],
    "classification": [(gen_sentiment, 1), (gen_animal_classes, 1), (gen_headlines, 1), (gen_spam, 1), (gen_produce, 1)],
    "other": [(gen_arithmetic, 1), (gen_conversions, 1), (gen_word_tasks, 1)],
    "closed_qa": [(gen_closed_qa, 1)],
    "extraction": [(gen_extraction, 1)],
}


def category_counts(total: int) -> dict[str, int]:
    """Rows per category: the paper's shares scaled to ``total`` by largest remainder, so they sum exactly."""
    scale = total / sum(CATEGORY_SHARES.values())
    exact_counts = {c: share * scale for c, share in CATEGORY_SHARES.items()}
    counts = {c: int(v) for c, v in exact_counts.items()}
    by_remainder = sorted(exact_counts, key=lambda c: exact_counts[c] - counts[c], reverse=True)
    for category in by_remainder[: total - sum(counts.values())]:
        counts[category] += 1
    return counts


def prompt_key(prompt: Prompt) -> str:
    return json.dumps(prompt, ensure_ascii=False, sort_keys=True)


def sample_category(rng: random.Random, category: str, n: int, seen: set[str]) -> list[Candidate]:
    """Round-robin over the category's builders (shuffled pools), skipping prompts already used anywhere."""
    pools = []
    for builder, weight in CATEGORY_BUILDERS[category]:
        pool = builder(rng)
        rng.shuffle(pool)
        pools.append((pool, weight))
    chosen: list[Candidate] = []
    while len(chosen) < n:
        before = len(chosen)
        for pool, weight in pools:
            taken = 0
            while pool and taken < weight and len(chosen) < n:
                candidate = pool.pop()
                key = prompt_key(candidate.prompt)
                if key in seen:
                    continue
                seen.add(key)
                chosen.append(candidate)
                taken += 1
        if len(chosen) == before:
            raise ValueError(f"{category}: builders offer only {len(chosen)} distinct prompts; {n} are needed")
    rng.shuffle(chosen)
    return chosen


def check_demonstration(demo: Demonstration) -> None:
    """Fail loudly on a row that breaks the set's promises, so a bad template never reaches the file."""
    score = constraint_score(demo.constraints, demo.completion)
    if score != 1.0:
        raise ValueError(f"{demo.id}: completion breaks its own constraints ({score:.2f}): {demo.prompt!r}")
    words = count_words(demo.completion)
    if words > MAX_COMPLETION_WORDS:
        raise ValueError(f"{demo.id}: completion has {words} words (max {MAX_COMPLETION_WORDS})")


def build_instructions(seed: int = SEED, total: int = N_INSTRUCTIONS) -> list[Demonstration]:
    rng = random.Random(f"{seed}-instructions")
    seen: set[str] = set()
    demos = []
    for category, n in category_counts(total).items():
        for index, candidate in enumerate(sample_category(rng, category, n, seen), start=1):
            demo = Demonstration(candidate.prompt, candidate.completion, category, candidate.constraints,
                                 f"{ID_PREFIX[category]}-{index:04d}")
            check_demonstration(demo)
            demos.append(demo)
    return demos

# --------------------------------------------------------------------------------------------------
# The pretraining corpus: plain prose, no instruction/answer pairs


def pt_animals(rng: random.Random) -> list[str]:
    out = []
    for animal in ANIMALS:
        plural = cap(animal.plural)
        facts = list(animal.facts)
        rng.shuffle(facts)
        closing = rng.choice(ANIMAL_CLOSINGS).format(plural=animal.plural)
        out.append(f"{cap(an(animal.name))} is {an(animal.cls)}. {plural} live in {animal.habitat}. They eat "
                   f"{animal.diet}. {' '.join(facts)} {closing}")
        rng.shuffle(facts)
        out.append(f"{plural} are remarkable animals. {' '.join(facts)} They are found in {animal.habitat}. "
                   f"Their diet is made up of {animal.diet}. {rng.choice(ANIMAL_CLOSINGS).format(plural=animal.plural)}")
    return out


def pt_cities(rng: random.Random) -> list[str]:
    out = []
    for city in CITIES:
        h = list(city.highlights)
        out.append(f"{city.name} is {city.desc}. Visitors often begin with {h[0]}. Other highlights include "
                   f"{h[1]}, {h[2]} and {h[3]}. Local food worth trying includes {city.food}. {city.transport} Many travellers "
                   f"say that a few days is barely enough to see it all.")
        friend, sender = pick(rng, FIRST_NAMES, 2)
        rng.shuffle(h)
        out.append(f"Dear {friend},\n\nI have been in {city.name} for three days now, and I already feel at home. Yesterday I saw "
                   f"{h[0]}, and this morning I went to {h[1]}. Last night I tried {city.food}, which was delicious. "
                   f"{city.transport} Tomorrow I plan to visit {h[2]}. I will send photos soon.\n\nWith love,\n{sender}")
    return out


def pt_concepts(rng: random.Random) -> list[str]:
    out = []
    for concept in CONCEPTS:
        out.append(f"{concept.definition} {concept.example} Put simply: {concept.simple} Understanding {concept.name} makes "
                   f"many everyday things easier to explain.")
        out.append(f"Many people first meet the idea of {concept.name} at school. {concept.definition} {concept.example} "
                   f"When teachers explain it to young children, they often say something like this. {concept.simple}")
    return out


def pt_jobs(rng: random.Random) -> list[str]:
    out = []
    for job in JOBS:
        t = job.tasks
        out.append(f"{cap(an(job.title))} {job.duties}. On a typical day, {an(job.title)} {t[0]}, {t[1]}, {t[2]} and {t[3]}. "
                   f"The job calls for {join_and(job.skills)}. Many people who do this work say the best part is knowing that "
                   f"what they do makes a difference to others. It can be demanding, but it is rarely boring.")
        first, pronoun = rng.choice(PEOPLE)
        years = rng.randint(4, 30)
        out.append(f"{first} has worked as {an(job.title)} for {years} years. Each morning, {first} {t[0]}. Later, {pronoun} "
                   f"{t[1]}, and in the afternoon {pronoun} {t[2]}. Before going home, {pronoun} {t[3]}. {cap(pronoun)} says "
                   f"the work takes {join_and(job.skills)}, and that no two days are ever quite the same. After all these years, "
                   f"{pronoun} still enjoys it.")
    return out


def pt_hobbies(rng: random.Random) -> list[str]:
    out = []
    for hobby in HOBBIES:
        tips = pick(rng, hobby.tips, 4)
        out.append(f"{cap(hobby.name)} is a rewarding pastime. {hobby.benefit} To get started, you will need "
                   f"{join_and(hobby.gear)}. {' '.join(tips)} With a little patience, most beginners see progress within a "
                   f"few weeks.")
        a, b = pick(rng, hobby.tips, 2)
        out.append(f"{rng.choice(WEEKDAYS)}. Today I finally started {hobby.name}. I got {hobby.gear[0]} and {hobby.gear[1]}, and I "
                   f"spent an hour trying things out. A friend who has done it for years gave me two pieces of advice. The first "
                   f"was this: \"{a}\" The second: \"{b}\" I am tired but happy, and I already want to try again tomorrow.")
        friend, sender = pick(rng, FIRST_NAMES, 2)
        out.append(f"Dear {friend},\n\nYou will laugh, but I have taken up {hobby.name}. {hobby.benefit} So far I have learned one "
                   f"important lesson: \"{rng.choice(hobby.tips)}\" The hardest part was simply getting started, but now I look "
                   f"forward to it every week. I would love for you to join me one weekend. Write back soon "
                   f"and tell me how you are.\n\nYours,\n{sender}")
    return out


def pt_recipes(rng: random.Random) -> list[str]:
    out = []
    for recipe in RECIPES:
        serves = "one person" if recipe.serves == 1 else f"{recipe.serves} people"
        out.append(f"To make {recipe.dish}, you need {join_and(recipe.ingredients)}. {' '.join(recipe.steps)} It takes about "
                   f"{recipe.minutes} minutes and serves {serves}. It goes well with {recipe.serve_with}.")
        out.append(f"Every Sunday, my grandmother made {recipe.dish} for the whole family. She never used a written recipe, but I "
                   f"watched her closely enough to learn it. {' '.join(recipe.steps)} Whenever I make it now, I serve it with "
                   f"{recipe.serve_with}, just as she did.")
    return out


def pt_stories(rng: random.Random) -> list[str]:
    out = []
    for character in STORY_CHARACTERS:
        for plot in pick(rng, PLOTS, 8):
            name, desc, pronoun, poss = character
            slots = {"name": name, "pronoun": pronoun, "Pronoun": cap(pronoun), "poss": poss}
            setting = rng.choice(STORY_SETTINGS)
            parts = [f"Long ago, {setting}, there lived {desc} named {name}.",
                     f"More than anything, {pronoun} wanted to {plot.goal}.", plot.obstacle, plot.action, plot.resolution,
                     plot.moral, rng.choice(["And that is how the story is still told today.", "The end.",
                                             "Some say you can still hear people talking about it."])]
            out.append(" ".join(cap(p.format(**slots)) for p in parts))
    return out


def pt_made_up_places(rng: random.Random) -> list[str]:
    out = []
    for _ in range(28):
        passage, _qas = town_passage(rng)
        out.append(f"{passage} {' '.join(pick(rng, TOWN_EXTRAS, 2))}")
    for _ in range(18):
        passage, _qas = company_passage(rng)
        out.append(f"{passage} The founder still likes to say that every product should be simple to use and easy to repair. "
                   f"Customers often write to the company to share how long their purchases have lasted.")
    for _ in range(18):
        passage, _qas = person_passage(rng)
        out.append(f"{passage} Students describe the lessons as patient and fun, and audiences love the quiet, warm sound of "
                   f"the concerts.")
    return out


PRETRAIN_BUILDERS: list[Callable[[random.Random], list[str]]] = [
    pt_animals, pt_cities, pt_concepts, pt_jobs, pt_hobbies, pt_recipes, pt_stories, pt_made_up_places]


def build_pretrain(seed: int = SEED, total: int = N_PRETRAIN) -> list[PretrainText]:
    rng = random.Random(f"{seed}-pretrain")
    pools = []
    for builder in PRETRAIN_BUILDERS:
        pool = builder(rng)
        rng.shuffle(pool)
        pools.append(pool)
    texts: list[str] = []
    seen: set[str] = set()
    while len(texts) < total:
        before = len(texts)
        for pool in pools:
            while pool and len(texts) < total:
                text = pool.pop()
                if text not in seen:
                    seen.add(text)
                    texts.append(text)
                    break
        if len(texts) == before:
            raise ValueError(f"pretrain builders offer only {len(texts)} distinct paragraphs; {total} are needed")
    rng.shuffle(texts)
    low, high = PRETRAIN_WORDS
    for text in texts:
        if not low <= count_words(text) <= high:
            raise ValueError(f"pretrain paragraph has {count_words(text)} words (want {low}-{high}): {text[:80]!r}")
    return [PretrainText(text, f"pt-{i:04d}") for i, text in enumerate(texts, start=1)]


# --------------------------------------------------------------------------------------------------
# Writing


def to_jsonl(rows: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_all(out_dir: Path = OUT_DIR) -> dict[str, int]:
    """Write instructions.jsonl and pretrain.jsonl into ``out_dir``; return the row counts by file."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    demos = build_instructions()
    texts = build_pretrain()
    (out_dir / INSTRUCTIONS_FILE).write_text(to_jsonl([d.to_row() for d in demos]), encoding="utf-8")
    (out_dir / PRETRAIN_FILE).write_text(to_jsonl([t.to_row() for t in texts]), encoding="utf-8")
    return {INSTRUCTIONS_FILE: len(demos), PRETRAIN_FILE: len(texts)}


def main() -> None:
    for name, count in write_all().items():
        print(f"wrote {count} rows to {OUT_DIR / name}")


if __name__ == "__main__":
    main()
