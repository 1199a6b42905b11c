{#
  The one test synapses.cpp and synapses_push_spikes.cpp share: a pathway
  whose spikes act in their own step, which synapses.cpp propagates straight
  from the eventspace and the queue therefore never holds. ``queue`` names
  the pathway's CSpikeQueue.
#}
{% macro reads_events_directly(queue) -%}
({{queue}}.scalar_delay && {{queue}}.delays[0] == 0)
{%- endmacro %}
