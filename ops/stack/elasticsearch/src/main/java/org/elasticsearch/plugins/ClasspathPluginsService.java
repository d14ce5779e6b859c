package org.elasticsearch.plugins;

import org.elasticsearch.Build;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.jdk.ModuleQualifiedExportsService;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A {@link PluginsService} that, besides whatever it finds in the (empty) modules and plugins
 * folders, also loads a fixed list of plugin classes straight from the application class path.
 * It lives in this package because {@link PluginsService.LoadedPlugin} and
 * {@link PluginsService#loadPlugin} are package-private.
 */
public class ClasspathPluginsService extends PluginsService {

    private final List<LoadedPlugin> withClasspathPlugins;

    public ClasspathPluginsService(
        Settings settings,
        Path configDir,
        Path modulesDir,
        Path pluginsDir,
        List<Class<? extends Plugin>> classpathPlugins
    ) {
        super(settings, configDir, modulesDir, pluginsDir);
        List<LoadedPlugin> all = new ArrayList<>(super.plugins());
        String esVersion = Build.current().version();
        for (Class<? extends Plugin> pluginClass : classpathPlugins) {
            PluginDescriptor descriptor = new PluginDescriptor(
                pluginClass.getName(),              // name
                "classpath plugin " + pluginClass.getSimpleName(),
                esVersion,                          // plugin version
                esVersion,                          // elasticsearch version
                "17",                               // java version
                pluginClass.getName(),              // class name
                null,                               // module name (not modular)
                List.of(),                          // extended plugins
                false,                              // native controller
                false,                              // licensed
                false,                              // modular
                false                               // stable
            );
            Plugin instance = loadPlugin(pluginClass, settings, configDir);
            all.add(new LoadedPlugin(descriptor, instance));
        }
        this.withClasspathPlugins = Collections.unmodifiableList(all);
    }

    /**
     * The server jar is an unnamed module on the class path, so there is no module descriptor whose
     * qualified exports could be wired to plugin layers (the base class would fail with an NPE).
     */
    @Override
    protected void addServerExportsService(Map<String, List<ModuleQualifiedExportsService>> qualifiedExports) {}

    @Override
    protected List<LoadedPlugin> plugins() {
        // the super constructor may call this before our field is set
        return withClasspathPlugins == null ? super.plugins() : withClasspathPlugins;
    }
}
