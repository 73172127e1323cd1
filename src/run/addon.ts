import {CatboxError, errors} from '../lib/errors.js'
import {loadNative, type NativeAddon} from './native.js'

/** loadNative(), with a failure to load turned into a CatboxError (its text is kept). */
export function addon(): NativeAddon {
  try {
    return loadNative()
  } catch (error) {
    if (error instanceof CatboxError) throw error
    throw errors.nativeUnavailable(error instanceof Error ? error : new Error(String(error)))
  }
}
