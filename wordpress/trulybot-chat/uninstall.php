<?php
/**
 * Runs when the plugin is deleted from Plugins → Installed Plugins: removes the saved settings
 * (the bot service URL and the widget id), on every site of a multisite network.
 */

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

delete_option( 'trulybot_chat' );

if ( is_multisite() ) {
	foreach ( get_sites( array( 'fields' => 'ids' ) ) as $trulybot_site_id ) {
		switch_to_blog( $trulybot_site_id );
		delete_option( 'trulybot_chat' );
		restore_current_blog();
	}
}
