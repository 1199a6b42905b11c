{# USES_VARIABLES { N, _synaptic_pre} #}
{#
  brian2cuda's spike propagation template, launched without a host round trip.

  brian2cuda copies each step's event count from the GPU to the host to size
  the grid of every synaptic pathway (cudaMemcpy, which waits for all queued
  kernels), three times per step in this network. Here a pathway with a
  homogeneous delay is launched over a fixed grid, one block per source unit
  (times the parallel blocks), and a block past this step's event count, which
  the kernel reads from the eventspace itself, returns at once. The kernels
  then queue behind each other without the host waiting. A block has no more
  threads than its source's largest synapse bundle needs, in whole warps (one
  warp, not 1024 threads, for the single synapse from a hidden unit to its
  output unit): the kernel's loop strides by the block size, so any size is
  correct. Every other case, and everything inside the kernel, is brian2cuda's
  own template.
#}
{% extends 'brian2cuda/synapses.cu' %}

{% block additional_variables %}
    {% if uses_atomics or synaptic_effects == "synapse" %}
    // num_spiking_neurons holds the source size here: the eventspace's counter index.
    if ({{pathway.name}}.no_or_const_delay_mode
            && bid / {{pathway.name}}.queue->num_blocks >= eventspace[num_spiking_neurons])
    {
        return;
    }
    {% endif %}
{% endblock %}

{% block kernel_call %}
{% if uses_atomics or synaptic_effects == "synapse" %}
{% set _eventspace = get_array_name(pathway.variables[pathway.eventspace_name], access_data=False) %}
if ({{pathway.name}}_max_size > 0)
{
    int launch_threads = num_threads;
    if ({{pathway.name}}_scalar_delay)
    {
        num_blocks = num_parallel_blocks * (_num_{{_eventspace}} - 1);
        launch_threads = min(num_threads, num_threads_per_warp * (({{pathway.name}}_max_size + num_threads_per_warp - 1) / num_threads_per_warp));
    }
    _run_kernel_{{codeobj_name}}<<<num_blocks, launch_threads>>>(
        _N,
        0,
        {{owner.clock.name}}.timestep[0],
        {% if bundle_mode %}
        num_threads_per_bundle,
        {% endif %}
        dev{{_eventspace}}[{{pathway.name}}_eventspace_idx],
        _num_{{_eventspace}} - 1,
        ///// HOST_PARAMETERS /////
        %HOST_PARAMETERS%
    );
    CUDA_CHECK_ERROR("_run_kernel_{{codeobj_name}}");
}
{% else %}
{{ super() }}
{% endif %}
{% endblock kernel_call %}
