package org.elasticsearch.node;

import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.ClasspathPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsService;

import java.util.List;

/**
 * An Elasticsearch {@link Node} whose plugins come from the class path instead of the
 * distribution's modules/ and plugins/ folders. It lives in this package because
 * {@link NodeConstruction} and {@link NodeServiceProvider} are package-private.
 */
public class ClasspathPluginNode extends Node {

    public ClasspathPluginNode(Environment environment, List<Class<? extends Plugin>> classpathPlugins) {
        super(NodeConstruction.prepareConstruction(environment, new NodeServiceProvider() {
            @Override
            PluginsService newPluginService(Environment env, Settings settings) {
                return new ClasspathPluginsService(
                    settings,
                    env.configFile(),
                    env.modulesFile(),
                    env.pluginsFile(),
                    classpathPlugins
                );
            }
        }, true));
    }
}
