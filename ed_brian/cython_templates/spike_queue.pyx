{#
  What the cython templates here read of Brian2's C++ spike queue, and the one
  test they share: a pathway whose spikes act in their own step, which
  synapses.pyx propagates straight from the eventspace and the queue therefore
  never holds.
#}
{% macro declaration() %}
from cpython.pycapsule cimport PyCapsule_GetPointer
from libcpp.vector cimport vector
from cython.operator cimport dereference
cdef extern from "spikequeue.h":
    cdef cppclass CSpikeQueue:
        bint scalar_delay
        int* delays
        int32_t source_start
        int32_t source_end
        vector[vector[int]] synapses
        vector[int32_t]* peek()
        void advance()
        void push(int32_t*, int)
{% endmacro %}

{% macro reads_events_directly(queue) -%}
({{queue}}.scalar_delay and {{queue}}.delays[0] == 0)
{%- endmacro %}
