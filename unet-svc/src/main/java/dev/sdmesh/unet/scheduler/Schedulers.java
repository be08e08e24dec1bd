package dev.sdmesh.unet.scheduler;

import dev.sdmesh.runtime.grpc.InvalidFieldException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The schedulers this service offers, by diffusers class name and by AUTOMATIC1111 sampler name. A scheduler is
 * configured as diffusers' {@code from_config} does: the model's {@code scheduler_config.json}, of whatever class,
 * read by the chosen class (keys it does not know are ignored), then the sampler name's own settings (Karras sigmas,
 * SDE variant), then the request's options.
 */
public final class Schedulers {

    /** One scheduler class. */
    public record Entry(String className, Set<String> configKeys, Function<SchedulerConfig, Scheduler> factory) {
    }

    /** An A1111 sampler name: a class plus the config it implies. */
    public record Alias(String name, String className, Map<String, Object> settings) {
    }

    private static final String KARRAS_SIGMAS = "use_karras_sigmas";
    private static final String ALGORITHM_TYPE = "algorithm_type";
    private static final Map<String, Entry> CLASSES = new LinkedHashMap<>();
    private static final Map<String, Alias> ALIASES = new LinkedHashMap<>();
    /** Every key any diffusers scheduler config can hold; others are errors, these are ignored where foreign. */
    private static final Set<String> ALL_CONFIG_KEYS = new TreeSet<>();

    static {
        register("DDIMScheduler", DDIMScheduler.CONFIG_KEYS, DDIMScheduler::new);
        register("DDPMScheduler", DDPMScheduler.CONFIG_KEYS, DDPMScheduler::new);
        register("PNDMScheduler", PNDMScheduler.CONFIG_KEYS, PNDMScheduler::new);
        register("LCMScheduler", LCMScheduler.CONFIG_KEYS, LCMScheduler::new);
        register("EulerDiscreteScheduler", EulerDiscreteScheduler.CONFIG_KEYS, EulerDiscreteScheduler::new);
        register("EulerAncestralDiscreteScheduler", EulerAncestralDiscreteScheduler.CONFIG_KEYS, EulerAncestralDiscreteScheduler::new);
        register("LMSDiscreteScheduler", LMSDiscreteScheduler.CONFIG_KEYS, LMSDiscreteScheduler::new);
        register("HeunDiscreteScheduler", HeunDiscreteScheduler.CONFIG_KEYS, HeunDiscreteScheduler::new);
        register("KDPM2DiscreteScheduler", KDPM2DiscreteScheduler.CONFIG_KEYS, KDPM2DiscreteScheduler::new);
        register("KDPM2AncestralDiscreteScheduler", KDPM2AncestralDiscreteScheduler.CONFIG_KEYS, KDPM2AncestralDiscreteScheduler::new);
        register("DPMSolverMultistepScheduler", DPMSolverMultistepScheduler.CONFIG_KEYS, DPMSolverMultistepScheduler::new);
        register("DPMSolverSinglestepScheduler", DPMSolverSinglestepScheduler.CONFIG_KEYS, DPMSolverSinglestepScheduler::new);
        register("DPMSolverSDEScheduler", DPMSolverSDEScheduler.CONFIG_KEYS, DPMSolverSDEScheduler::new);
        register("DEISMultistepScheduler", DEISMultistepScheduler.CONFIG_KEYS, DEISMultistepScheduler::new);
        register("UniPCMultistepScheduler", UniPCMultistepScheduler.CONFIG_KEYS, UniPCMultistepScheduler::new);
        // Keys the config files carry that are not __init__ arguments.
        ALL_CONFIG_KEYS.addAll(Set.of("_class_name", "_diffusers_version", "skip_prk_steps"));

        Map<String, Object> karras = Map.of(KARRAS_SIGMAS, true);
        Map<String, Object> ode = Map.of(ALGORITHM_TYPE, "dpmsolver++");
        Map<String, Object> odeKarras = Map.of(ALGORITHM_TYPE, "dpmsolver++", KARRAS_SIGMAS, true);
        Map<String, Object> sde = Map.of(ALGORITHM_TYPE, "sde-dpmsolver++");
        Map<String, Object> sdeKarras = Map.of(ALGORITHM_TYPE, "sde-dpmsolver++", KARRAS_SIGMAS, true);
        alias("Euler", "EulerDiscreteScheduler", Map.of());
        alias("Euler a", "EulerAncestralDiscreteScheduler", Map.of());
        alias("LMS", "LMSDiscreteScheduler", Map.of());
        alias("LMS Karras", "LMSDiscreteScheduler", karras);
        alias("Heun", "HeunDiscreteScheduler", Map.of());
        alias("DPM2", "KDPM2DiscreteScheduler", Map.of());
        alias("DPM2 Karras", "KDPM2DiscreteScheduler", karras);
        alias("DPM2 a", "KDPM2AncestralDiscreteScheduler", Map.of());
        alias("DPM2 a Karras", "KDPM2AncestralDiscreteScheduler", karras);
        alias("DPM++ 2M", "DPMSolverMultistepScheduler", ode);
        alias("DPM++ 2M Karras", "DPMSolverMultistepScheduler", odeKarras);
        alias("DPM++ 2M SDE", "DPMSolverMultistepScheduler", sde);
        alias("DPM++ 2M SDE Karras", "DPMSolverMultistepScheduler", sdeKarras);
        alias("DPM++ 2S a", "DPMSolverSinglestepScheduler", ode);
        alias("DPM++ 2S a Karras", "DPMSolverSinglestepScheduler", odeKarras);
        alias("DPM++ SDE", "DPMSolverSDEScheduler", Map.of());
        alias("DPM++ SDE Karras", "DPMSolverSDEScheduler", karras);
        alias("DDIM", "DDIMScheduler", Map.of());
        alias("PLMS", "PNDMScheduler", Map.of());
        alias("DDPM", "DDPMScheduler", Map.of());
        alias("UniPC", "UniPCMultistepScheduler", Map.of());
        alias("DEIS", "DEISMultistepScheduler", Map.of(ALGORITHM_TYPE, "deis"));
        alias("LCM", "LCMScheduler", Map.of());
    }

    private Schedulers() {
    }

    private static void register(String className, Set<String> keys, Function<SchedulerConfig, Scheduler> factory) {
        CLASSES.put(className, new Entry(className, keys, factory));
        ALL_CONFIG_KEYS.addAll(keys);
    }

    /**
     * An A1111 name fixes its sigma schedule and solver variant: "DPM++ 2M" means no Karras sigmas and the ODE solver
     * even when the model's config (or a resolved config a client sends) asks for them.
     */
    private static void alias(String name, String className, Map<String, Object> settings) {
        Map<String, Object> complete = new LinkedHashMap<>(settings);
        if (CLASSES.get(className).configKeys().contains(KARRAS_SIGMAS)) complete.putIfAbsent(KARRAS_SIGMAS, false);
        ALIASES.put(name.toLowerCase(), new Alias(name, className, Map.copyOf(complete)));
    }

    public static List<Entry> classes() {
        return List.copyOf(CLASSES.values());
    }

    /** A1111 names for a class. */
    public static List<String> aliasesOf(String className) {
        List<String> names = new ArrayList<>();
        for (Alias a : ALIASES.values()) if (a.className().equals(className)) names.add(a.name());
        return names;
    }

    /**
     * A scheduler for one request.
     *
     * @param name        class or A1111 name; blank = the model's own class
     * @param modelConfig the model's scheduler_config.json
     * @param options     request overrides: diffusers config keys with JSON-literal values
     */
    public static Scheduler create(String name, SchedulerConfig modelConfig, Map<String, String> options) {
        for (String key : options.keySet()) {
            if (!ALL_CONFIG_KEYS.contains(key)) {
                throw new InvalidFieldException("scheduler_options." + key,
                        "is not a diffusers scheduler config key (known keys include timestep_spacing, use_karras_sigmas, "
                                + "prediction_type, steps_offset, solver_order, algorithm_type)");
            }
        }
        String requested = name == null || name.isBlank() ? modelConfig.getString("_class_name", "PNDMScheduler") : name.trim();
        Entry entry = CLASSES.get(requested);
        SchedulerConfig config = modelConfig;
        if (entry == null) {
            Alias alias = ALIASES.get(requested.toLowerCase());
            if (alias == null) {
                throw new InvalidFieldException("scheduler", "unknown scheduler '" + requested + "'; use a diffusers class ("
                        + String.join(", ", CLASSES.keySet()) + ") or an A1111 sampler name ("
                        + String.join(", ", ALIASES.values().stream().map(Alias::name).toList()) + ")");
            }
            entry = CLASSES.get(alias.className());
            for (var setting : alias.settings().entrySet()) config = config.with(setting.getKey(), setting.getValue());
        }
        try {
            return entry.factory().apply(config.withOverrides(options));
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException("scheduler_options", e.getMessage());
        }
    }
}
