{%- set min_mentions = var('repeated_bug_min_mentions', 5) -%}

with

feedback as (

    select * from {{ ref('fct_feedback') }}

),

entities as (

    select * from {{ ref('stg_enrichment__feedback_entities') }}

),

-- error codes and app versions customers quote: the same one in many items is the same bug
references_by_day as (

    select
        feedback.created_date,
        entities.entity_type,
        entities.entity_value,
        count(distinct feedback.feedback_id) as mentions,
        min(feedback.feedback_id) as example_feedback_id

    from entities
    inner join feedback
        on entities.feedback_id = feedback.feedback_id
        and entities.enrichment_version = feedback.enrichment_version
    where entities.entity_type in ('error', 'app_version')
    group by
        feedback.created_date,
        entities.entity_type,
        entities.entity_value

),

two_day_windows as (

    select
        this_day.created_date,
        this_day.entity_type,
        this_day.entity_value,
        this_day.mentions,
        this_day.example_feedback_id,
        sum(window_day.mentions) as mentions_two_days

    from references_by_day as this_day
    inner join references_by_day as window_day
        on this_day.entity_type = window_day.entity_type
        and this_day.entity_value = window_day.entity_value
        and this_day.created_date >= window_day.created_date
        and window_day.created_date >= {{ dbt.dateadd('day', -1, 'this_day.created_date') }}
    group by
        this_day.created_date,
        this_day.entity_type,
        this_day.entity_value,
        this_day.mentions,
        this_day.example_feedback_id

),

final as (

    select
        *,
        mentions_two_days >= {{ min_mentions }} as is_repeated

    from two_day_windows

)

select * from final
