{#
    The grain test: no two rows share the same values in `combination_of_columns`. Nulls count as values,
    so a null in a grain column does not hide a duplicate.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with

grain as (

    select
        {% for column in combination_of_columns -%}
        {{ column }},
        {% endfor -%}
        count(*) as row_count

    from {{ model }}
    group by
        {% for column in combination_of_columns -%}
        {{ column }}{{ "," if not loop.last }}
        {% endfor %}

),

final as (

    select * from grain
    where row_count > 1

)

select * from final

{% endtest %}
