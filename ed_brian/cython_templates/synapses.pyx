{# USES_VARIABLES { _queue_capsule } #}
{#
  Brian2's spike propagation (cython target), reading this step's events
  where they are.

  For a pathway with no delay, Brian2 copies the synapse indices of every
  source that fired into the spike queue (synapses_push_spikes.pyx), then this
  code object walks that copy. Here it walks the sources that fired in the
  eventspace and each one's synapses in the queue's per-source lists, which
  are what the copy is made of: the same synapses in the same order, so the
  same numbers, without the copy. Pathways with a delay walk the queue as
  Brian2 does. The statements inside both loops are Brian2's generated code.
#}
{% extends 'brian2/synapses.pyx' %}
{% import 'spike_queue.pyx' as spike_queue %}

{% block template_support_code %}
{{ spike_queue.declaration() }}
{% endblock %}

{% block maincode %}
    cdef CSpikeQueue* _queue = <CSpikeQueue*>PyCapsule_GetPointer(_queue_capsule, "CSpikeQueue")
    cdef _numpy.ndarray _eventspace
    cdef int32_t* _events
    cdef int32_t _num_events, _first, _last, _event
    cdef vector[int]* _synapses
    cdef size_t _synapse, _num_synapses, _first_synapse
    cdef vector[int32_t]* _queued
    cdef int32_t* _queued_synapses
    cdef size_t _position, _num_queued
    if {{ spike_queue.reads_events_directly('_queue') }}:
        # The pathway's eventspace, which it took when its queue was prepared
        # for the run (the code object's owner is the Synapses object).
        _eventspace = _owner.{{pathway.objname}}.eventspace
        _events = <int32_t*>_numpy.PyArray_DATA(_eventspace)
        _num_events = _events[_eventspace.shape[0] - 1]
        # Only the sources of this pathway (a Subgroup's part of the eventspace, which is sorted).
        _first = 0
        while _first < _num_events and _events[_first] < _queue.source_start:
            _first += 1
        _last = _first
        while _last < _num_events and _events[_last] < _queue.source_end:
            _last += 1
        if _first < _last:
            _vectorisation_idx = 1
            {{ scalar_code | autoindent }}
            for _event in range(_first, _last):
                _synapses = &_queue.synapses[_events[_event] - _queue.source_start]
                _num_synapses = dereference(_synapses).size()
                if _num_synapses == 0:
                    continue
                # The list is in increasing order: from its ends, whether it is one run of indices.
                _first_synapse = dereference(_synapses)[0]
                if dereference(_synapses)[_num_synapses - 1] - _first_synapse + 1 == _num_synapses:
                    for _idx in range(_first_synapse, _first_synapse + _num_synapses):
                        _vectorisation_idx = _idx
                        {{ vector_code | autoindent }}
                else:
                    for _synapse in range(_num_synapses):
                        _idx = dereference(_synapses)[_synapse]
                        _vectorisation_idx = _idx
                        {{ vector_code | autoindent }}
    else:
        _queued = _queue.peek()
        _num_queued = dereference(_queued).size()
        if _num_queued > 0:
            _queued_synapses = &dereference(_queued)[0]
            _vectorisation_idx = 1
            {{ scalar_code | autoindent }}
            for _position in range(_num_queued):
                _idx = _queued_synapses[_position]
                _vectorisation_idx = _idx
                {{ vector_code | autoindent }}
    _queue.advance()
{% endblock %}
