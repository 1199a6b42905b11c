{# USES_VARIABLES { _n_sources, _n_targets, delay, _source_dt} #}
{#
  Brian2's spike queue, left empty where synapses.cpp reads the events
  itself (no delay, no OpenMP).
#}
{% extends 'brian2/synapses_push_spikes.cpp' %}
{% import 'zero_delay.cpp' as zero_delay %}

{% block maincode %}
{% if prefs.devices.cpp_standalone.openmp_threads == 0 %}
    CSpikeQueue &_queue = *{{owner.name}}.queue[0];
    if (!{{ zero_delay.reads_events_directly('_queue') }})
    {
        {{ super() }}
    }
{% else %}
    {{ super() }}
{% endif %}
{% endblock %}
