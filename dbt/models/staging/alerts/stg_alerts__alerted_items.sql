with

source as (

    select * from {{ source('alerts', 'alerted_items') }}

),

final as (

    select
        alert_id,
        feedback_id,
        alerted_at

    from source

)

select * from final
