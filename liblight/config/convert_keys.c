/* convert_keys.c - which xl.cfg keys Keel reads, and which ones Xen knows but Keel ignores
 * (from the key list of xl.cfg(5)); anything else is unknown. */
#include <string.h>

#include "convert.h"

static const char *const keel_keys[] = {
    "name", "type", "builder", "uuid", "memory", "maxmem", "vcpus", "maxvcpus", "cpus",
    "cpus_soft", "cpu_weight", "cap", "pool", "kernel", "ramdisk", "cmdline", "root", "extra",
    "seclabel", "init_seclabel", "on_poweroff", "on_reboot", "on_watchdog", "on_crash",
    "on_soft_reset", "disk", "vif", "vtpm", "p9", "channel", "nomigrate", "driver_domain",
    "max_grant_frames", "max_maptrack_frames", "max_event_channels", NULL
};

static const char *const xen_keys[] = {
    "vnuma", "firmware", "pvshim", "pvshim_path", "pvshim_cmdline", "pvshim_extra",
    "max_grant_version", "device_tree", "passthrough", "xend_suspend_evtchn_compat",
    "vmtrace_buf_kb", "vpmu", "xenstore_feature_mask", "xenstore_quota", "pvcalls", "vfb",
    "vkb", "rdm", "usbctrl", "usbdev", "pci", "pci_permissive", "pci_msitranslate",
    "pci_seize", "pci_power_mgmt", "gfx_passthru", "rdm_mem_boundary", "dtdev", "ioports",
    "iomem", "irqs", "vdispl", "dm_restrict", "device_model_user", "vsnd", "virtio", "tee",
    "bootloader", "bootloader_args", "bootloader_restrict", "bootloader_user", "e820_host",
    "boot", "hdtype", "hap", "oos", "shadow_memory", "bios", "bios_path_override", "pae",
    "acpi", "acpi_s3", "acpi_s4", "acpi_laptop_slate", "apic", "nx", "hpet", "altp2m",
    "altp2mhvm", "altp2m_count", "nestedhvm", "cpuid", "acpi_firmware", "smbios_firmware",
    "smbios", "ms_vm_genid", "tsc_mode", "localtime", "rtc_timeoffset", "vpt_align",
    "timer_mode", "mmio_hole", "xen_platform_pci", "xen_platform_pci_bar_uc", "viridian",
    "hvm_pirq", "videoram", "stdvga", "vga", "vnc", "vnclisten", "vncdisplay", "vncunused",
    "vncpasswd", "keymap", "sdl", "opengl", "nographic", "spice", "spicehost", "spiceport",
    "spicetls_port", "spicedisable_ticketing", "spicepasswd", "spiceagent_mouse",
    "spicevdagent", "spice_clipboard_sharing", "spiceusbredirection",
    "spice_image_compression", "spice_streaming_video", "serial", "soundhw", "vkb_device",
    "usb", "usbversion", "usbdevice", "vendor_device", "device_model_version",
    "device_model_override", "device_model_stubdomain_override",
    "device_model_stubdomain_seclabel", "device_model_args", "device_model_args_pv",
    "device_model_args_hvm", "stubdomain_memory", "stubdomain_kernel", "stubdomain_cmdline",
    "stubdomain_ramdisk", "gic_version", "vuart", "sve", "llc_colors", "nr_spis",
    "trap_unmapped_accesses", "arm_sci", "mca_caps", "msr_relaxed", "claim_mode", "vtsc",
    NULL
};

static int in(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (!strcmp(*list, key))
            return 1;
    return 0;
}

enum kl__key_class kl__key_class(const char *key)
{
    if (in(keel_keys, key))
        return KL_KEY_KEEL;
    if (in(xen_keys, key))
        return KL_KEY_XEN_ONLY;
    return KL_KEY_UNKNOWN;
}
