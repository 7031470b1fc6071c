{#
    Feedback text made comparable and safe to show: the common entities unescaped first (&amp; last, so
    `&amp;lt;` stays `&lt;`), then HTML comments and tags removed (each replaced by a space), so an escaped
    `&lt;script&gt;` is removed as the tag it decodes to and never left in the text; control characters
    (C0, DEL, C1: terminal escape sequences, form feeds, U+0085) replaced by a space; every run of whitespace
    (unicode spaces included) collapsed to one space, trimmed, unicode NFC. A tag must start with a letter or
    `/`, so `I <3 it` and `a < b` are kept.
#}
{% macro normalize_text(column) -%}
    {{ return(adapter.dispatch('normalize_text', 'feedback_ops')(column)) }}
{%- endmacro %}

{% macro default__normalize_text(column) -%}
    {{ exceptions.raise_compiler_error("normalize_text is implemented for duckdb and databricks / spark only") }}
{%- endmacro %}

{% macro duckdb__normalize_text(column) -%}
    nfc_normalize(trim(regexp_replace(
        regexp_replace(
            regexp_replace(
                replace(replace(replace(replace(replace(replace(replace({{ column }},
                    '&nbsp;', ' '),
                    '&lt;', '<'),
                    '&gt;', '>'),
                    '&quot;', '"'),
                    '&#39;', ''''),
                    '&apos;', ''''),
                    '&amp;', '&'),
                '(?s:<!--.*?-->)|</?[a-zA-Z][^<>]*>', ' ', 'g'),
            '\p{Cc}', ' ', 'g'),
        '[\s\p{Z}]+', ' ', 'g'
    )))
{%- endmacro %}

{#
    Spark / Databricks: regexp_replace replaces every match; backslashes are doubled because Spark string
    literals unescape them; a quote is char(39) because Spark does not read '' as a quote. Databricks SQL has
    no unicode normalization function: NFC is not applied there (the text is left in its source form).
#}
{% macro spark__normalize_text(column) -%}
    trim(regexp_replace(
        regexp_replace(
            regexp_replace(
                replace(replace(replace(replace(replace(replace(replace({{ column }},
                    '&nbsp;', ' '),
                    '&lt;', '<'),
                    '&gt;', '>'),
                    '&quot;', '"'),
                    '&#39;', char(39)),
                    '&apos;', char(39)),
                    '&amp;', '&'),
                '(?s:<!--.*?-->)|</?[a-zA-Z][^<>]*>', ' '),
            '\\p{Cc}', ' '),
        '[\\s\\p{Z}]+', ' '
    ))
{%- endmacro %}

{% macro databricks__normalize_text(column) -%}
    {{ spark__normalize_text(column) }}
{%- endmacro %}
