{#
  brian2cuda's network, with clocks that tick together found as the runtime finds them.

  Like Brian2's C++ network (see ../cpp_templates/network.cpp), brian2cuda's
  takes two clocks to be at the same time when their times differ by at most
  1e-14 s, which past 64 s of simulated time can miss by one unit in the last
  place: the trial's boundary then runs after that step instead of at its
  start. Here the tolerance grows with the time, as there.
#}
{% import 'brian2cuda/network.cu' as _brian2cuda with context %}
{% macro cu_file() %}
{{ _brian2cuda.cu_file() | replace("fabs(s-t)<=Clock_epsilon", "fabs(s-t)<=Clock_epsilon*(1.0+fabs(t))") }}
{% endmacro %}
{% macro h_file() %}
{{ _brian2cuda.h_file() }}
{% endmacro %}
