/** The version of the Sparkle Studio SDK packages (they are released together). */
export const SDK_VERSION = '0.1.0'
