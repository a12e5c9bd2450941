<?php
/**
 * Plugin Name:       TrulyBot Order Help Chat
 * Plugin URI:        https://github.com/trulybot/trulybot
 * Description:       Adds the TrulyBot order-tracking chat widget to your store (one script tag, no dependencies).
 * Version:           0.1.0
 * Requires at least: 6.3
 * Requires PHP:      7.4
 * License:           MIT
 * Text Domain:       trulybot-chat
 *
 * Settings → TrulyBot chat: the bot service URL (https://…) and the widget id shown in the TrulyBot
 * dashboard. The storefront's origin must be in the store's allowed origins in TrulyBot.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

const TRULYBOT_OPTION = 'trulybot_chat';

/** The saved settings, with defaults. */
function trulybot_settings() {
	$saved = get_option( TRULYBOT_OPTION, array() );
	return wp_parse_args( is_array( $saved ) ? $saved : array(), array( 'bot_url' => '', 'widget_id' => '' ) );
}

/** Keep only an http(s) URL without a trailing slash and a widget id made of safe characters. */
function trulybot_sanitize( $input ) {
	$input  = is_array( $input ) ? $input : array();
	$url    = esc_url_raw( trim( (string) ( $input['bot_url'] ?? '' ) ), array( 'https', 'http' ) );
	$widget = trim( (string) ( $input['widget_id'] ?? '' ) );
	if ( ! preg_match( '/^[A-Za-z0-9_-]{1,64}$/', $widget ) ) {
		if ( '' !== $widget ) {
			add_settings_error( TRULYBOT_OPTION, 'widget_id', __( 'The widget id may only contain letters, digits, - and _.', 'trulybot-chat' ) );
		}
		$widget = '';
	}
	return array( 'bot_url' => untrailingslashit( $url ), 'widget_id' => $widget );
}

add_action(
	'wp_enqueue_scripts',
	function () {
		$settings = trulybot_settings();
		if ( '' === $settings['bot_url'] || '' === $settings['widget_id'] ) {
			return;
		}
		wp_enqueue_script(
			'trulybot-chat',
			$settings['bot_url'] . '/api/widget/woocommerce.js',
			array(),
			null, // the bot service versions the file with an ETag
			array( 'strategy' => 'async', 'in_footer' => true )
		);
	}
);

// The widget finds its id in the data-widget-id attribute of its own script tag.
add_filter(
	'script_loader_tag',
	function ( $tag, $handle ) {
		if ( 'trulybot-chat' !== $handle ) {
			return $tag;
		}
		$settings = trulybot_settings();
		$attrs    = ' data-widget-id="' . esc_attr( $settings['widget_id'] ) . '"';
		if ( false === strpos( $tag, ' async' ) ) {
			$attrs .= ' async';
		}
		return str_replace( '<script ', '<script' . $attrs . ' ', $tag );
	},
	10,
	2
);

add_action(
	'admin_init',
	function () {
		register_setting( 'trulybot_chat', TRULYBOT_OPTION, array( 'sanitize_callback' => 'trulybot_sanitize' ) );
		add_settings_section( 'trulybot_main', '', '__return_false', 'trulybot-chat' );
		$fields = array(
			'bot_url'   => __( 'Bot service URL', 'trulybot-chat' ),
			'widget_id' => __( 'Widget id', 'trulybot-chat' ),
		);
		foreach ( $fields as $key => $label ) {
			add_settings_field(
				$key,
				$label,
				function () use ( $key ) {
					$settings = trulybot_settings();
					printf(
						'<input type="%1$s" class="regular-text" name="%2$s[%3$s]" id="trulybot-%3$s" value="%4$s" />',
						'bot_url' === $key ? 'url' : 'text',
						esc_attr( TRULYBOT_OPTION ),
						esc_attr( $key ),
						esc_attr( $settings[ $key ] )
					);
				},
				'trulybot-chat',
				'trulybot_main'
			);
		}
	}
);

add_action(
	'admin_menu',
	function () {
		add_options_page(
			__( 'TrulyBot chat', 'trulybot-chat' ),
			__( 'TrulyBot chat', 'trulybot-chat' ),
			'manage_options',
			'trulybot-chat',
			function () {
				if ( ! current_user_can( 'manage_options' ) ) {
					return;
				}
				echo '<div class="wrap"><h1>' . esc_html__( 'TrulyBot chat', 'trulybot-chat' ) . '</h1>';
				echo '<p>' . esc_html__( 'Enter your bot service URL and the widget id from the TrulyBot dashboard.', 'trulybot-chat' ) . '</p>';
				echo '<form method="post" action="options.php">';
				settings_fields( 'trulybot_chat' );
				do_settings_sections( 'trulybot-chat' );
				submit_button();
				echo '</form></div>';
			}
		);
	}
);
