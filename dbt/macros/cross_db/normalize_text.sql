{#
    Feedback text made comparable: HTML comments and tags removed (each replaced by a space), the common
    entities unescaped (&amp; last, so `&amp;lt;` stays `&lt;`), every run of whitespace (unicode spaces
    included) collapsed to one space, trimmed, unicode NFC. A tag must start with a letter or `/`, so
    `I <3 it` and `a < b` are kept.
#}
{% macro normalize_text(column) -%}
    {{ return(adapter.dispatch('normalize_text', 'feedback_ops')(column)) }}
{%- endmacro %}

{% macro default__normalize_text(column) -%}
    {{ exceptions.raise_compiler_error("normalize_text is implemented for duckdb and databricks / spark only") }}
{%- endmacro %}

{% macro duckdb__normalize_text(column) -%}
    nfc_normalize(trim(regexp_replace(
        replace(replace(replace(replace(replace(replace(replace(
            regexp_replace({{ column }}, '(?s:<!--.*?-->)|</?[a-zA-Z][^<>]*>', ' ', 'g'),
            '&nbsp;', ' '),
            '&lt;', '<'),
            '&gt;', '>'),
            '&quot;', '"'),
            '&#39;', ''''),
            '&apos;', ''''),
            '&amp;', '&'),
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
        replace(replace(replace(replace(replace(replace(replace(
            regexp_replace({{ column }}, '(?s:<!--.*?-->)|</?[a-zA-Z][^<>]*>', ' '),
            '&nbsp;', ' '),
            '&lt;', '<'),
            '&gt;', '>'),
            '&quot;', '"'),
            '&#39;', char(39)),
            '&apos;', char(39)),
            '&amp;', '&'),
        '[\\s\\p{Z}]+', ' '
    ))
{%- endmacro %}

{% macro databricks__normalize_text(column) -%}
    {{ spark__normalize_text(column) }}
{%- endmacro %}
