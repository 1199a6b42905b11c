{#
  Brian2's network, with clocks that tick together found as the runtime finds them.

  Brian2's C++ network takes two clocks to be at the same time when their
  times differ by at most 1e-14 s. Past 64 s of simulated time a double's last
  place is worth more than that (1.4e-14 s at 64 s), so k*T of the trial clock
  and n*dt of the step clock can miss it by one unit and the trial's boundary
  then runs after that step instead of at its start. Brian2's runtime compares
  relative to dt and does not miss. Here the tolerance grows with the time:
  1e-14 s plus 1e-14 of it, some 50 units in the last place, far below a step.
#}
{% import 'brian2/network.cpp' as _brian2 with context %}
{% macro cpp_file() %}
{{ _brian2.cpp_file() | replace("fabs(s-t)<=Clock_epsilon", "fabs(s-t)<=Clock_epsilon*(1.0+fabs(t))") }}
{% endmacro %}
{% macro h_file() %}
{{ _brian2.h_file() }}
{% endmacro %}
