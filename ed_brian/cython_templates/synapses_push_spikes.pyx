{# USES_VARIABLES { _queue_capsule } #}
{#
  Brian2's spike queue (cython target), left empty where synapses.pyx reads
  the events itself (no delay).
#}
{% extends 'brian2/synapses_push_spikes.pyx' %}
{% import 'spike_queue.pyx' as spike_queue %}

{% block template_support_code %}
{{ spike_queue.declaration() }}
{% endblock %}

{% block maincode %}
    {% set eventspace = get_array_name(eventspace_variable) %}
    cdef CSpikeQueue* _queue = <CSpikeQueue*>PyCapsule_GetPointer(_queue_capsule, "CSpikeQueue")
    cdef int _num_events = {{eventspace}}[_num{{eventspace}} - 1]
    if _num_events > 0 and not {{ spike_queue.reads_events_directly('_queue') }}:
        _queue.push({{eventspace}}, _num_events)
{% endblock %}
