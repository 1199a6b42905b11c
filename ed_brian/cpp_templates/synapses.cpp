{#
  Brian2's spike propagation, reading this step's events where they are.

  For a pathway with no delay, Brian2 copies the synapse indices of every
  source that fired into the spike queue (synapses_push_spikes.cpp), then this
  code object walks that copy. Here it walks the sources that fired in the
  eventspace and each one's synapses in the queue's per-source lists, which
  are what the copy is made of: the same synapses in the same order, so the
  same numbers, without the copy. Pathways with a delay, and OpenMP runs,
  take Brian2's own loop (everything inside the loop is Brian2's).
#}
{% extends 'brian2/synapses.cpp' %}
{% import 'zero_delay.cpp' as zero_delay %}

{% block maincode %}
{% set _eventspace = pathway.variables[pathway.eventspace_name] %}
{% if prefs.devices.cpp_standalone.openmp_threads == 0 %}
    CSpikeQueue &_queue = *{{pathway.name}}.queue[0];
    if {{ zero_delay.reads_events_directly('_queue') }}
    {
        // This is only needed for the _debugmsg function below
        {# USES_VARIABLES { _synaptic_pre } #}
        const size_t _vectorisation_idx = -1;
        {{scalar_code|autoindent}}
        const int32_t *_events = {{get_array_name(_eventspace, access_data=False)}};
        const int _num_events = _events[{{_eventspace.size - 1}}];
        // Only the sources of this pathway (a Subgroup's part of the eventspace).
        const int _first = std::lower_bound(_events, _events + _num_events, _queue.source_start) - _events;
        const int _last = std::upper_bound(_events, _events + _num_events, _queue.source_end - 1) - _events;
        for (int _event = _first; _event < _last; _event++)
        {
            const std::vector<int32_t> &_synapses = _queue.synapses[_events[_event] - _queue.source_start];
            const size_t _num_synapses = _synapses.size();
            if (_num_synapses == 0)
                continue;
            // The list is in increasing order: from its ends, whether it is one run of indices.
            const size_t _first_synapse = _synapses[0];
            if (_synapses[_num_synapses - 1] - _first_synapse + 1 == _num_synapses)
            {
                for (size_t _idx = _first_synapse; _idx < _first_synapse + _num_synapses; _idx++)
                {
                    const size_t _vectorisation_idx = _idx;
                    {{vector_code|autoindent}}
                }
            }
            else
            {
                for (size_t _synapse = 0; _synapse < _num_synapses; _synapse++)
                {
                    const size_t _idx = _synapses[_synapse];
                    const size_t _vectorisation_idx = _idx;
                    {{vector_code|autoindent}}
                }
            }
        }
    }
    else
    {
        {{ super() }}
    }
{% else %}
    {{ super() }}
{% endif %}
{% endblock %}
