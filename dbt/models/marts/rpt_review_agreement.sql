{#-
    Model-vs-reviewer agreement per week of review and per model category. A reviewer who decides the same
    enrichment row twice counts once (the latest decision); an accept is an agreement by definition.
-#}

with

decisions as (

    select * from {{ ref('stg_enrichment__review_decisions') }}

),

ranked_decisions as (

    select
        *,
        row_number() over (
            partition by feedback_id, enrichment_version
            order by decided_at desc, decision_id desc
        ) as recency_rank

    from decisions

),

latest_decisions as (

    select * from ranked_decisions
    where recency_rank = 1

),

scored as (

    select
        cast({{ dbt.date_trunc('week', 'decided_at') }} as date) as review_week,
        model_category as category,
        case when category = model_category then 1 else 0 end as is_category_agreement,
        case
            when
                category = model_category
                and sentiment_label = model_sentiment_label
                and urgency = model_urgency
                then 1
            else 0
        end as is_full_agreement

    from latest_decisions

),

weekly as (

    select
        review_week,
        category,
        count(*) as reviewed_items,
        sum(is_category_agreement) as agreements,
        sum(is_full_agreement) as full_agreements

    from scored
    group by review_week, category

),

final as (

    select
        review_week,
        category,
        reviewed_items,
        agreements,
        round(agreements * 1.0 / reviewed_items, 4) as agreement_rate,
        full_agreements,
        round(full_agreements * 1.0 / reviewed_items, 4) as full_agreement_rate

    from weekly

)

select * from final
