"""The voice catalog: Microsoft neural voice ids (as edge-tts names them) with
their offline (espeak-ng) and gTTS fallbacks.

Data in code on purpose: the list must draw without a network call. Every id
below appears in edge-tts's published voice list; ids Microsoft renamed
(e.g. ``en-AU-WilliamNeural`` -> ``en-AU-WilliamMultilingualNeural``) are left
out. Django-free so the TTS chain and the pipeline can use it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from paksatalker_site.errors import ValidationFailed

DEFAULT_VOICE = "en-US-JennyNeural"

F, M = "Female", "Male"


@dataclass(frozen=True)
class Voice:
    voice_id: str
    language: str  # English name of the locale, e.g. "English (United States)"
    language_code: str  # BCP-47 locale, e.g. "en-US"
    flag: str
    name: str
    gender: str  # "Female" | "Male"
    espeak_voice: str  # a name `espeak-ng --voices` lists
    gtts_lang: str | None  # None when gTTS has no such language
    gtts_tld: str = "com"


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    flag: str
    voice_count: int


@dataclass(frozen=True)
class _Locale:
    code: str
    name: str
    espeak: str
    gtts_lang: str | None
    gtts_tld: str
    voices: tuple[tuple[str, str], ...]  # (display name, gender)


def _loc(code: str, name: str, espeak: str, gtts: str | None, tld: str, *voices: tuple[str, str]) -> _Locale:
    return _Locale(code, name, espeak, gtts, tld, voices)


# (locale, English name, espeak-ng voice, gTTS lang, gTTS tld, voices...)
# espeak-ng has no en-AU/en-IN/... accents: the nearest English variant stands in.
_LOCALES: tuple[_Locale, ...] = (
    _loc("af-ZA", "Afrikaans (South Africa)", "af", "af", "com", ("Adri", F), ("Willem", M)),
    _loc("am-ET", "Amharic (Ethiopia)", "am", "am", "com", ("Ameha", M), ("Mekdes", F)),
    _loc("ar-EG", "Arabic (Egypt)", "ar", "ar", "com", ("Salma", F), ("Shakir", M)),
    _loc("ar-SA", "Arabic (Saudi Arabia)", "ar", "ar", "com", ("Hamed", M), ("Zariyah", F)),
    _loc("az-AZ", "Azerbaijani (Azerbaijan)", "az", None, "com", ("Babek", M), ("Banu", F)),
    _loc("bg-BG", "Bulgarian (Bulgaria)", "bg", "bg", "com", ("Borislav", M), ("Kalina", F)),
    _loc("bn-BD", "Bengali (Bangladesh)", "bn", "bn", "com", ("Nabanita", F), ("Pradeep", M)),
    _loc("bn-IN", "Bengali (India)", "bn", "bn", "co.in", ("Bashkar", M), ("Tanishaa", F)),
    _loc("bs-BA", "Bosnian (Bosnia and Herzegovina)", "bs", "bs", "com", ("Goran", M), ("Vesna", F)),
    _loc("ca-ES", "Catalan (Spain)", "ca", "ca", "com", ("Enric", M), ("Joana", F)),
    _loc("cs-CZ", "Czech (Czechia)", "cs", "cs", "com", ("Antonin", M), ("Vlasta", F)),
    _loc("cy-GB", "Welsh (United Kingdom)", "cy", "cy", "com", ("Aled", M), ("Nia", F)),
    _loc("da-DK", "Danish (Denmark)", "da", "da", "com", ("Christel", F), ("Jeppe", M)),
    _loc("de-AT", "German (Austria)", "de", "de", "com", ("Ingrid", F), ("Jonas", M)),
    _loc("de-CH", "German (Switzerland)", "de", "de", "com", ("Jan", M), ("Leni", F)),
    _loc("de-DE", "German (Germany)", "de", "de", "com", ("Amala", F), ("Conrad", M), ("Katja", F), ("Killian", M)),
    _loc("el-GR", "Greek (Greece)", "el", "el", "com", ("Athina", F), ("Nestoras", M)),
    _loc("en-AU", "English (Australia)", "en-gb", "en", "com.au", ("Natasha", F)),
    _loc("en-CA", "English (Canada)", "en-us", "en", "ca", ("Clara", F), ("Liam", M)),
    _loc("en-GB", "English (United Kingdom)", "en-gb", "en", "co.uk",
         ("Libby", F), ("Maisie", F), ("Ryan", M), ("Sonia", F), ("Thomas", M)),
    _loc("en-IE", "English (Ireland)", "en-gb", "en", "ie", ("Connor", M), ("Emily", F)),
    _loc("en-IN", "English (India)", "en-gb", "en", "co.in", ("Neerja", F), ("Prabhat", M)),
    _loc("en-NZ", "English (New Zealand)", "en-gb", "en", "co.nz", ("Mitchell", M), ("Molly", F)),
    _loc("en-US", "English (United States)", "en-us", "en", "com",
         ("Ana", F), ("Andrew", M), ("Aria", F), ("Ava", F), ("Brian", M), ("Christopher", M), ("Emma", F),
         ("Eric", M), ("Guy", M), ("Jenny", F), ("Michelle", F), ("Roger", M), ("Steffan", M)),
    _loc("en-ZA", "English (South Africa)", "en-gb", "en", "co.za", ("Leah", F), ("Luke", M)),
    _loc("es-AR", "Spanish (Argentina)", "es-419", "es", "com.mx", ("Elena", F), ("Tomas", M)),
    _loc("es-CO", "Spanish (Colombia)", "es-419", "es", "com.mx", ("Gonzalo", M), ("Salome", F)),
    _loc("es-ES", "Spanish (Spain)", "es", "es", "es", ("Alvaro", M), ("Elvira", F), ("Ximena", F)),
    _loc("es-MX", "Spanish (Mexico)", "es-419", "es", "com.mx", ("Dalia", F), ("Jorge", M)),
    _loc("es-US", "Spanish (United States)", "es-419", "es", "us", ("Alonso", M), ("Paloma", F)),
    _loc("et-EE", "Estonian (Estonia)", "et", "et", "com", ("Anu", F), ("Kert", M)),
    _loc("fa-IR", "Persian (Iran)", "fa", None, "com", ("Dilara", F), ("Farid", M)),
    _loc("fi-FI", "Finnish (Finland)", "fi", "fi", "com", ("Harri", M), ("Noora", F)),
    _loc("fr-BE", "French (Belgium)", "fr-be", "fr", "fr", ("Charline", F), ("Gerard", M)),
    _loc("fr-CA", "French (Canada)", "fr-fr", "fr", "ca", ("Antoine", M), ("Jean", M), ("Sylvie", F), ("Thierry", M)),
    _loc("fr-CH", "French (Switzerland)", "fr-ch", "fr", "fr", ("Ariane", F), ("Fabrice", M)),
    _loc("fr-FR", "French (France)", "fr-fr", "fr", "fr", ("Denise", F), ("Eloise", F), ("Henri", M)),
    _loc("ga-IE", "Irish (Ireland)", "ga", None, "com", ("Colm", M), ("Orla", F)),
    _loc("gu-IN", "Gujarati (India)", "gu", "gu", "co.in", ("Dhwani", F), ("Niranjan", M)),
    _loc("he-IL", "Hebrew (Israel)", "he", "iw", "com", ("Avri", M), ("Hila", F)),
    _loc("hi-IN", "Hindi (India)", "hi", "hi", "co.in", ("Madhur", M), ("Swara", F)),
    _loc("hr-HR", "Croatian (Croatia)", "hr", "hr", "com", ("Gabrijela", F), ("Srecko", M)),
    _loc("hu-HU", "Hungarian (Hungary)", "hu", "hu", "com", ("Noemi", F), ("Tamas", M)),
    _loc("id-ID", "Indonesian (Indonesia)", "id", "id", "com", ("Ardi", M), ("Gadis", F)),
    _loc("is-IS", "Icelandic (Iceland)", "is", "is", "com", ("Gudrun", F), ("Gunnar", M)),
    _loc("it-IT", "Italian (Italy)", "it", "it", "com", ("Diego", M), ("Elsa", F), ("Isabella", F)),
    _loc("ja-JP", "Japanese (Japan)", "ja", "ja", "com", ("Keita", M), ("Nanami", F)),
    _loc("ka-GE", "Georgian (Georgia)", "ka", None, "com", ("Eka", F), ("Giorgi", M)),
    _loc("kk-KZ", "Kazakh (Kazakhstan)", "kk", None, "com", ("Aigul", F), ("Daulet", M)),
    _loc("kn-IN", "Kannada (India)", "kn", "kn", "co.in", ("Gagan", M), ("Sapna", F)),
    _loc("ko-KR", "Korean (Korea)", "ko", "ko", "com", ("InJoon", M), ("SunHi", F)),
    _loc("lt-LT", "Lithuanian (Lithuania)", "lt", "lt", "com", ("Leonas", M), ("Ona", F)),
    _loc("lv-LV", "Latvian (Latvia)", "lv", "lv", "com", ("Everita", F), ("Nils", M)),
    _loc("mk-MK", "Macedonian (North Macedonia)", "mk", None, "com", ("Aleksandar", M), ("Marija", F)),
    _loc("ml-IN", "Malayalam (India)", "ml", "ml", "co.in", ("Midhun", M), ("Sobhana", F)),
    _loc("mr-IN", "Marathi (India)", "mr", "mr", "co.in", ("Aarohi", F), ("Manohar", M)),
    _loc("ms-MY", "Malay (Malaysia)", "ms", "ms", "com", ("Osman", M), ("Yasmin", F)),
    _loc("mt-MT", "Maltese (Malta)", "mt", None, "com", ("Grace", F), ("Joseph", M)),
    _loc("my-MM", "Burmese (Myanmar)", "my", "my", "com", ("Nilar", F), ("Thiha", M)),
    _loc("nb-NO", "Norwegian Bokmål (Norway)", "nb", "no", "com", ("Finn", M), ("Pernille", F)),
    _loc("ne-NP", "Nepali (Nepal)", "ne", "ne", "com", ("Hemkala", F), ("Sagar", M)),
    _loc("nl-BE", "Dutch (Belgium)", "nl", "nl", "com", ("Arnaud", M), ("Dena", F)),
    _loc("nl-NL", "Dutch (Netherlands)", "nl", "nl", "com", ("Colette", F), ("Fenna", F), ("Maarten", M)),
    _loc("pl-PL", "Polish (Poland)", "pl", "pl", "com", ("Marek", M), ("Zofia", F)),
    _loc("pt-BR", "Portuguese (Brazil)", "pt-br", "pt", "com.br", ("Antonio", M), ("Francisca", F)),
    _loc("pt-PT", "Portuguese (Portugal)", "pt", "pt", "pt", ("Duarte", M), ("Raquel", F)),
    _loc("ro-RO", "Romanian (Romania)", "ro", "ro", "com", ("Alina", F), ("Emil", M)),
    _loc("ru-RU", "Russian (Russia)", "ru", "ru", "com", ("Dmitry", M), ("Svetlana", F)),
    _loc("si-LK", "Sinhala (Sri Lanka)", "si", "si", "com", ("Sameera", M), ("Thilini", F)),
    _loc("sk-SK", "Slovak (Slovakia)", "sk", "sk", "com", ("Lukas", M), ("Viktoria", F)),
    _loc("sl-SI", "Slovenian (Slovenia)", "sl", None, "com", ("Petra", F), ("Rok", M)),
    _loc("sq-AL", "Albanian (Albania)", "sq", "sq", "com", ("Anila", F), ("Ilir", M)),
    _loc("sr-RS", "Serbian (Serbia)", "sr", "sr", "com", ("Nicholas", M), ("Sophie", F)),
    _loc("sv-SE", "Swedish (Sweden)", "sv", "sv", "com", ("Mattias", M), ("Sofie", F)),
    _loc("sw-KE", "Swahili (Kenya)", "sw", "sw", "com", ("Rafiki", M), ("Zuri", F)),
    _loc("sw-TZ", "Swahili (Tanzania)", "sw", "sw", "com", ("Daudi", M), ("Rehema", F)),
    _loc("ta-IN", "Tamil (India)", "ta", "ta", "co.in", ("Pallavi", F), ("Valluvar", M)),
    _loc("te-IN", "Telugu (India)", "te", "te", "co.in", ("Mohan", M), ("Shruti", F)),
    _loc("th-TH", "Thai (Thailand)", "th", "th", "com", ("Niwat", M), ("Premwadee", F)),
    _loc("tr-TR", "Turkish (Türkiye)", "tr", "tr", "com", ("Ahmet", M), ("Emel", F)),
    _loc("uk-UA", "Ukrainian (Ukraine)", "uk", "uk", "com", ("Ostap", M), ("Polina", F)),
    _loc("ur-PK", "Urdu (Pakistan)", "ur", "ur", "com", ("Asad", M), ("Uzma", F)),
    _loc("uz-UZ", "Uzbek (Uzbekistan)", "uz", None, "com", ("Madina", F), ("Sardor", M)),
    _loc("vi-VN", "Vietnamese (Vietnam)", "vi", "vi", "com", ("HoaiMy", F), ("NamMinh", M)),
    _loc("zh-CN", "Chinese (Mandarin, Simplified)", "cmn", "zh-CN", "com",
         ("Xiaoxiao", F), ("Xiaoyi", F), ("Yunjian", M), ("Yunxi", M), ("Yunyang", M)),
    _loc("zh-HK", "Chinese (Cantonese, Traditional)", "yue", "yue", "com", ("HiuGaai", F), ("HiuMaan", F), ("WanLung", M)),
    _loc("zh-TW", "Chinese (Taiwanese Mandarin, Traditional)", "cmn", "zh-TW", "com",
         ("HsiaoChen", F), ("HsiaoYu", F), ("YunJhe", M)),
)


def flag_for(locale: str) -> str:
    """The emoji flag of a locale's country: two regional-indicator symbols."""
    country = locale.split("-")[-1].upper()
    if len(country) != 2 or not country.isalpha():
        return ""
    return "".join(chr(0x1F1E6 + ord(ch) - ord("A")) for ch in country)


@functools.lru_cache(maxsize=1)
def _voices_by_id() -> dict[str, Voice]:
    voices: dict[str, Voice] = {}
    for loc in _LOCALES:
        flag = flag_for(loc.code)
        for name, gender in loc.voices:
            voice_id = f"{loc.code}-{name}Neural"
            voices[voice_id] = Voice(
                voice_id=voice_id,
                language=loc.name,
                language_code=loc.code,
                flag=flag,
                name=name,
                gender=gender,
                espeak_voice=loc.espeak,
                gtts_lang=loc.gtts_lang,
                gtts_tld=loc.gtts_tld,
            )
    return dict(sorted(voices.items()))


def voice_list() -> list[Voice]:
    """Every voice, sorted by voice_id."""
    return list(_voices_by_id().values())


def language_list() -> list[Language]:
    """Every locale that has voices, sorted by its English name."""
    counts: dict[str, int] = {}
    for voice in _voices_by_id().values():
        counts[voice.language_code] = counts.get(voice.language_code, 0) + 1
    languages = [Language(code=loc.code, name=loc.name, flag=flag_for(loc.code), voice_count=counts[loc.code]) for loc in _LOCALES]
    return sorted(languages, key=lambda lang: lang.name)


def voice_get(voice_id: str) -> Voice:
    """The voice with this id; ValidationFailed (422) naming the id when unknown."""
    try:
        return _voices_by_id()[voice_id]
    except (KeyError, TypeError):
        raise ValidationFailed(
            f"Unknown voice {voice_id!r}; GET /api/v1/voices lists the voices.",
            extra={"voice": voice_id},
        ) from None
