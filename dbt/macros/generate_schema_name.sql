{#
    Custom schema names are used verbatim: a model configured with `schema: silver` lands in `silver`,
    not in `<target schema>_silver` (dbt's default). Models without one land in the target schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
